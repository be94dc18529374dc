"""`rapport shell` with nothing configured: the same handlers and database, readable replies, scriptable."""

from __future__ import annotations

from tests.cli import iso, monday_after, run

SCRIPT = """\
/client
/client add Acme Corp every 2w contact Jane Doe
/client log acme call yesterday : talked budgets
/client referral acme -> Beta Ltd
click 1
/client status acme corp
/client log acmy call
/client forget beta ltd
click Cancel
"""


def test_scripted_session_on_a_fresh_sqlite_database(tmp_path):
    result = run(["shell"], tmp_path, SCRIPT)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "> /client\n(In Slack this opens the “Log a touch” form." in out
    assert "> /client add Acme Corp every 2w contact Jane Doe\n✅ Added Acme Corp." in out
    assert "Owner @you · primary contact Jane Doe" in out
    assert "📝 Logged call (two-way) with Acme Corp" in out and "talked budgets" in out
    assert "🙏 Thank Jane Doe at Acme Corp for introducing Beta Ltd." in out
    assert "[Mark thanked]" in out
    assert "@you thanked Acme Corp for introducing Beta Ltd" in out
    assert "Acme Corp\n=========\nActive · owner @you" in out
    assert "Did you mean Acme Corp?" in out
    assert "[Forget Beta Ltd]  [Cancel]" in out and "Cancelled: nothing was forgotten." in out
    assert result.stderr == ""
    assert (tmp_path / "rapport.db").exists()

    again = run(["shell"], tmp_path, "/client list all\n")
    assert "Acme Corp" in again.stdout and "Beta Ltd (prospect)" in again.stdout


def test_mentions_typed_in_the_shell_behave_as_in_slack(tmp_path):
    result = run(["shell"], tmp_path, "/client add Acme owner @ben channel #acme\n/client status acme\n"
                                      "/client log acme note : ping @channel now\n/client status acme\n")
    assert "Active · owner @ben · nudges in #acme" in result.stdout
    assert "ping @channel now" in result.stdout


def test_a_bad_setting_stops_the_shell_with_one_line(tmp_path):
    result = run(["shell"], tmp_path, "", RAPPORT_TIMEZONE="Nowhere/Land")
    assert result.returncode == 2
    assert result.stderr.strip() == ("rapport: RAPPORT_TIMEZONE: unknown timezone 'Nowhere/Land' "
                                     "(use a name like Europe/London)")


def test_settings_come_from_a_dotenv_file(tmp_path):
    (tmp_path / ".env").write_text("RAPPORT_BUSINESS_HOURS=sometimes\n")
    result = run(["shell"], tmp_path, "")
    assert result.returncode == 2 and result.stderr.startswith("rapport: RAPPORT_BUSINESS_HOURS:")


def test_sweep_in_the_shell_shows_what_slack_would_get(tmp_path):
    monday = monday_after(days=30)  # the clients are added today; by then they have gone quiet
    at = iso(monday)
    script = ("/client add Acme Corp channel #acme contact Jane\n/client add Solo\n"
              f"/client referral acme -> Beta\nsweep --at {at} --dry-run\n"
              f"sweep --at {at}\nsweep --at {at}\nsweep --at tomorrow\n")
    out = run(["shell"], tmp_path, script).stdout
    # a Monday: the weekly digest goes to #acme and to the DM as well as the nudges
    assert "dry run, would plan 6 (digest 2, quiet 3, thanks 1); nothing written" in out
    assert "planned 6 (digest 2, quiet 3, thanks 1); 3 cards for 1 person; posted 6 in 4 messages" in out
    assert f"→ #acme\nWeekly digest · week of {monday.day} {monday:%b}" in out
    assert "Gone quiet · longest silence first\n  • Acme Corp · nothing from them in " in out
    assert "→ #acme\n🔔 Acme Corp has gone quiet: nothing from their side in the " in out
    assert "Next: call Jane" in out
    assert "→ DM to @you\n🔔 Solo has gone quiet" in out
    assert f"sweep at {monday:%Y-%m-%dT%H:%M}+00:00: planned 0; posted 0 in 0 messages" in out
    assert "--at: 'tomorrow' is not an ISO-8601 time" in out


def test_the_shell_asks_before_a_button_that_ends_something_and_shows_app_home(tmp_path):
    monday = monday_after(days=30)
    script = (f"/client add Acme Corp channel #acme\nsweep --at {iso(monday)}\nclick Mark not relevant\nclick Keep it\n"
              "click Mark not relevant\nclick Mark not relevant\nhome\n/client me cards 2\nhome\n")
    out = run(["shell"], tmp_path, script, RAPPORT_DIGEST="off").stdout
    assert "[Log a touch]  [View client]  [Snooze… ▾]  [Mark not relevant…]" in out
    asked = ("> click Mark not relevant\nMark as not relevant?\nAcme Corp: no more reminders about this silence (the "
             "next one starts once they get in touch). This can't be undone.\n[Mark not relevant]  [Keep it]")
    assert out.count(asked) == 2, out
    assert "> click Keep it\nCancelled: nothing changed." in out
    assert "✅ @you marked it not relevant on" in out
    assert "Your relationships\n==================\nToday: " in out and "Your pace: up to 2 cards a workday" in out
