"""The right form of every subcommand, shown in help and with every error."""

USAGE = {
    "help": "/client help",
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
    "domain": "/client domain <client> <domain> [remove]",
    "mail": "/client mail   |   /client mail ours <domain> [<domain> …]   |   /client mail rotate",
}

SUMMARY = {
    "help": "this list",
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
    "domain": "a client's email domain: mail from or to anyone there counts as a touch",
    "mail": "where to BCC or forward client mail, and what was captured or skipped this week",
}

KINDS_HELP = (
    "Kinds: call, meeting, email, message, visit (two-way unless from/to), note, checkin; "
    "signals help, acted, praise, strategic, early, forgave, mistake; "
    "warning signs cancel, delay, dispute, complaint."
)
