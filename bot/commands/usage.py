"""The right form of every subcommand, shown in help and with every error."""

USAGE = {
    "help": "/client help [<command>]",
    "add": "/client add <name> [every <N>d|w|m] [owner @user] [channel #channel] [contact <person>]",
    "log": "/client log <client> <kind> [from|to] [<when>] [with <contact>] [: <note>]",
    "referral": "/client referral <referrer> -> <referred> [: <note>]",
    "thanked": "/client thanked <referrer>",
    "checkin": "/client checkin <client> every <N>d|w|m   |   /client checkin <client> done [: <how they feel>]",
    "status": "/client status <client>",
    "list": "/client list [mine|quiet|at-risk|former|all] [by health]",
    "snooze": "/client snooze <client> <N>d|w|m",
    "end": "/client end <client> [no-winback] [: <reason>]",
    "optout": "/client optout <client>",
    "reactivate": "/client reactivate <client>",
    "owner": "/client owner <client> @user",
    "channel": "/client channel <client> #channel   |   /client channel default #channel",
    "rename": "/client rename <client> to <new name>",
    "forget": "/client forget <client>",
    "timezone": "/client timezone [<IANA name, like Europe/London>]",
    "value": "/client value <client> <amount>   (250000, 250k, 1.2m; none clears it)",
    "link": "/client link <client> #channel",
    "unlink": "/client unlink <client> #channel",
    "promise": "/client promise <client> <what> by <when>   (tomorrow, friday, in 3d, 2w, 2026-12-01)",
    "kept": "/client kept <client> [<what>]",
    "issue": "/client issue <client> <what> [eta <when>]",
    "resolved": "/client resolved <client> [<what>] [: <note>]",
    "goal": "/client goal <client> <what> by <when> [odds 90|70|50|30] [: <barrier>; <barrier>; <barrier>]   |   "
            "/client goal <client> [<what>] confidence <1-10> [: <note>]   |   "
            "/client goal <client> [<what>] met|missed [: <note>]",
    "review": "/client review <client> [<YYYY-MM>]   (default: the last full month)",
    "contact": "/client contact <client> <name> [primary|advocate|sponsor|other] [@user] [<email>]   |   "
               "/client contact <client> <name> remove",
    "handoff": "/client handoff <client> to @user [: <note>]",
    "closeout": "/client closeout <client> [: <note>]",
    "me": "/client me [cards <N>] [at <HH:MM>] [pause until <date> | resume]",
    "domain": "/client domain <client> <domain> [remove]",
    "mail": "/client mail   |   /client mail ours <domain> [<domain> …]   |   /client mail rotate",
}

SUMMARY = {
    "help": "the commands, or how to use one",
    "add": "start tracking a client",
    "log": "record a touch, a note or a signal",
    "referral": "record who referred whom (alias: refer)",
    "thanked": "mark a referrer as thanked",
    "checkin": "set a check-in rhythm, or record a check-in",
    "status": "the client card",
    "list": "your clients, filtered",
    "snooze": "no nudges for a while",
    "end": "the client has left",
    "optout": "they asked not to hear from us",
    "reactivate": "they are back",
    "owner": "hand a client to a colleague",
    "channel": "where nudges about a client go",
    "rename": "fix or change a name",
    "forget": "delete a client and all its history",
    "timezone": "this workspace's timezone for business hours and the digest",
    "value": "what a client is worth a year: ranks what you hear about first",
    "link": "a channel where the client's people talk with you: its messages count as touches",
    "unlink": "stop counting a channel's messages",
    "promise": "something you told them you would deliver, by a day",
    "kept": "a promise delivered",
    "issue": "a problem they wait on you to fix: they are owed news until it is",
    "resolved": "an issue fixed",
    "goal": "what success looks like for them, by when, with honest odds; how confident you are now; met or missed",
    "review": "a client's month: contact, commitments, goals, health, what went wrong, next",
    "contact": "a person at the client and their role; one primary contact, the advocate",
    "handoff": "hand a client to a new owner with an introduction, check-ins and everything open",
    "closeout": "the end of a project for a client who stays: a five-item checklist",
    "me": "your own pace: how many cards a workday, the hour they come, a pause for a holiday",
    "domain": "a client's email domain: mail from or to anyone there counts as a touch",
    "mail": "where to BCC or forward client mail, and what was captured or skipped this week",
}

KINDS_HELP = (
    "Kinds: call, meeting, email, message, visit (two-way unless from/to), note, checkin; "
    "signals help, acted, praise, strategic, early, forgave, mistake; "
    "warning signs cancel, delay, dispute, complaint."
)

WHEN_HELP = "When: today, yesterday, 3d ago, 2w ago, a weekday like monday, or 2026-11-02, read in your timezone."

# `/client help`: the few commands everyone needs, then the rest by what they are for. A command added to USAGE and
# to no group here is listed under "More", so help never forgets one.
EVERYDAY = ("log", "status", "list", "add", "me")
GROUPS = (
    ("Clients", ("add", "status", "list", "rename", "owner", "channel", "value", "snooze", "end", "optout",
                 "reactivate", "forget", "timezone")),
    ("Touches and people", ("log", "checkin", "referral", "thanked", "contact", "handoff", "closeout")),
    ("What you owe them", ("promise", "kept", "issue", "resolved", "goal", "review")),
    ("Capture", ("link", "unlink", "mail", "domain")),
    ("You", ("me", "help")),
)

# `/client help <command>`: what to type, with an example or two, and what is worth knowing first
DETAILS = {
    "help": "`/client help log` shows how to log a touch; `/client help kinds` and `/client help dates` what you "
            "can type for a kind and a day.",
    "add": "`/client add Acme Corp every 2w contact Jane Doe` · `/client add \"Every Day Foods\" owner @ana`\nThe "
           "owner defaults to you; `every` sets a check-in rhythm; the contact becomes the primary contact.",
    "log": "`/client log acme call` · `/client log acme email to yesterday : sent the proposal` · "
           "`/client log acme call from with Jane : asked about renewals`\n`from`: they reached you; `to`: you "
           "reached them, no reply yet; neither: a two-way conversation. `/client` alone opens the form.",
    "referral": "`/client referral acme -> Beta Ltd : met at the summit`\nAn unknown referred client is added as a "
                "prospect; the answer suggests a thank-you line, with *Mark thanked*.",
    "thanked": "`/client thanked acme`: every open referral from Acme Corp is marked thanked.",
    "checkin": "`/client checkin acme every 2w` sets a rhythm (`off` removes it) · `/client checkin acme done : "
               "happy with the pace` records one.",
    "status": "`/client status acme`: owner, last contact and from which side, when it counts as quiet, the check-in "
              "rhythm, what is open, health with its checklist, six months of trend, the last touches.",
    "list": "`/client list` · `/client list mine by health` · `/client list quiet` · `/client list at-risk` (2+ "
            "warning signs in 30 days) · `/client list former`",
    "snooze": "`/client snooze acme 2w`: no cards about Acme Corp for two weeks.",
    "end": "`/client end acme : budget cut` · `/client end acme no-winback`\nAfter 90 days Rapport suggests asking for "
           "feedback, then a soft touch now and then, unless `no-winback`.",
    "optout": "`/client optout acme`: they asked not to hear from you; no more former-client touches.",
    "reactivate": "`/client reactivate acme`: they are back, active again.",
    "owner": "`/client owner acme @ben`: the quiet change; `/client handoff` is the one with an introduction.",
    "channel": "`/client channel acme #acme-team` · `/client channel acme none` · `/client channel default #clients` "
               "(admins)",
    "rename": "`/client rename acme to Acme Group`",
    "forget": "`/client forget acme`: deletes the client and its whole history, after you confirm. The client's "
              "owner or an admin only.",
    "timezone": "`/client timezone` shows it; `/client timezone Europe/London` sets it (admins). Business hours and "
                "the digest follow it.",
    "value": "`/client value acme 250k` · `/client value acme none`\nWhat they are worth a year ranks what you hear "
             "about first; unset counts as the median.",
    "link": "`/client link acme #acme-shared`: the client's people talk with you there; their messages count as "
            "touches. Invite Rapport to the channel first.",
    "unlink": "`/client unlink acme #acme-shared`",
    "promise": "`/client promise acme the revised proposal by friday` · `/client promise acme the deck by 2w`\n"
               "The day: today, tomorrow, a weekday (the next one), in 3d, 2w, or a date. A card comes the business "
               "day before it is due, and again if it is late.",
    "kept": "`/client kept acme` (the only open one) · `/client kept acme proposal` (the one whose words you type)",
    "issue": "`/client issue acme login errors eta friday`\nThey are owed a status update every few business days "
             "until it is resolved; any touch from you to them counts as one.",
    "resolved": "`/client resolved acme login errors : fixed the SSO config`",
    "goal": "`/client goal acme 20% more leads by 2027-03-31 odds 70 : budget; timing` · `/client goal acme "
            "confidence 6` · `/client goal acme met`",
    "review": "`/client review acme` (last month) · `/client review acme 2026-10`",
    "contact": "`/client contact acme Jane Doe primary` · `/client contact acme Sam Lee sponsor @sam` · `/client "
               "contact acme Sam Lee remove`",
    "handoff": "`/client handoff acme to @ben : Ana moves to the retail team`\nOpen promises, issues and goals go "
               "with it; the previous owner is asked to introduce Ben.",
    "closeout": "`/client closeout acme : phase one delivered`: a five-item checklist, ticked with buttons.",
    "me": "`/client me` shows your pace · `/client me cards 3` (1 up to the workspace's number) · `/client me at "
          "10:30` (your time, inside business hours) · `/client me pause until next monday` · `/client me resume`\n"
          "Nothing due is dropped while you are paused or get fewer: it waits, ranked, in App Home.",
}
TOPICS = {"kinds": KINDS_HELP, "dates": WHEN_HELP, "when": WHEN_HELP}
