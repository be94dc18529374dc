"""What `rapport import-mail` reads: mbox files, .eml and .ics files and folders of them, streamed."""

from __future__ import annotations

import gc
import shutil
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from bot.capture.mail.mailbox_files import Folders, Unreadable, count_messages, mailbox_bytes, read_mailbox
from bot.capture.mail.mime import read_mime
from bot.capture.mail.parsed import ParsedMail
from tests.mail_fixtures import FIXTURES, RECEIVED, fixture


def _read(path: Path) -> list[ParsedMail | Unreadable]:
    return list(read_mailbox(path, RECEIVED))


def _mbox(*messages: bytes, separator: bytes = b"From sender@example.com Mon Jan  1 10:00:00 2024\n") -> bytes:
    return b"".join(separator + m.replace(b"\r\n", b"\n").rstrip(b"\n") + b"\n\n" for m in messages)


def test_an_mbox_is_read_message_by_message_as_the_same_messages(tmp_path: Path) -> None:
    names = ["forward_gmail.eml", "google_invite_via_list.eml", "forward_attached.eml", "cpython_msg_02.txt"]
    path = tmp_path / "Inbox"  # Thunderbird's mbox files have no extension
    path.write_bytes(_mbox(*(fixture(name) for name in names)))
    read = _read(path)
    alone = [read_mime(fixture(name), RECEIVED) for name in names]
    assert [(m.identity, m.sender, m.recipients, m.sent_at) for m in read if isinstance(m, ParsedMail)] == [
        (m.identity, m.sender, m.recipients, m.sent_at) for m in alone
    ]
    assert [m.forwarded is not None for m in read if isinstance(m, ParsedMail)] == [True, False, True, False]
    assert [len(m.meetings) for m in read if isinstance(m, ParsedMail)] == [0, 1, 0, 0]
    assert count_messages(path) == 4


def test_a_from_line_in_a_body_is_not_a_separator(tmp_path: Path) -> None:
    """CPython's own test mbox: extra text on the separator, "From time to time" unquoted in the body; its
    one message has no address ("From: foo"), so it is reported, not raised."""
    path = tmp_path / "box.mbox"
    shutil.copy(FIXTURES / "cpython_mailbox_01.mbox", path)
    assert _read(path) == [Unreadable(path, 1, "the message has no readable From, To or Cc address")]
    assert count_messages(path) == 1


def test_an_mboxrd_quoted_forward_and_the_separators_date(tmp_path: Path) -> None:
    quoted = fixture("forward_gmail.eml").replace(
        b"---------- Forwarded", b"\n>From the desk of Sam\n\n---------- Forwarded"
    )
    undated = b"From: jane@client.example\nTo: sam@agency.example\nSubject: no date\n\nhi\n"
    path = tmp_path / "box.mbox"
    path.write_bytes(_mbox(quoted) + _mbox(undated, separator=b"From 1234@xxx Wed Jan 10 12:34:56 +0200 2024\n"))
    first, second = _read(path)
    assert isinstance(first, ParsedMail) and first.forwarded is not None
    assert first.forwarded.sender == "john.doe@acme.com"
    assert isinstance(second, ParsedMail) and second.sent_at == datetime(2024, 1, 10, 10, 34, 56, tzinfo=UTC)


def test_a_folder_is_read_recursively_in_order(tmp_path: Path) -> None:
    (tmp_path / "b-folder" / "nested").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    shutil.copy(FIXTURES / "forward_outlook.eml", tmp_path / "b-folder" / "nested" / "one.eml")
    shutil.copy(FIXTURES / "exchange_w_europe_request.ics", tmp_path / "b-folder" / "invite.ics")
    (tmp_path / "a.mbox").write_bytes(_mbox(fixture("nylas_bad_date.eml"), fixture("all_day_invitation.eml")))
    (tmp_path / "c-broken.eml").write_bytes(b"\x00\x01 this is not mail")
    (tmp_path / "README.txt").write_text("notes, not mail\n")
    (tmp_path / ".DS_Store").write_bytes(b"\x00\x00")
    shutil.copy(FIXTURES / "forward_gmail.eml", tmp_path / ".hidden" / "skipped.eml")
    read = _read(tmp_path)
    assert [type(item).__name__ for item in read] == [
        "ParsedMail",
        "ParsedMail",
        "ParsedMail",
        "ParsedMail",
        "Unreadable",
    ]
    mbox_first, mbox_second, invite, one, broken = read
    assert isinstance(mbox_first, ParsedMail) and mbox_first.sender == "from@example.com"
    assert isinstance(mbox_second, ParsedMail) and mbox_second.meetings[0].all_day
    assert isinstance(invite, ParsedMail) and (invite.sender, invite.recipients) == (None, ())
    assert invite.meetings[0].zone == "Europe/Berlin" and invite.sent_at == RECEIVED
    assert isinstance(one, ParsedMail) and one.forwarded is not None
    assert broken == Unreadable(
        tmp_path / "c-broken.eml", None, "not an mbox file, a message (.eml) or a calendar (.ics)"
    )
    assert broken.where == str(tmp_path / "c-broken.eml")
    assert count_messages(tmp_path) == 5


def test_mail_folders_are_named_and_trash_junk_and_drafts_left_out(tmp_path: Path) -> None:
    """Thunderbird's folders are mbox files without an extension (and .msf indexes beside them); mbsync's and
    Dovecot's `fs` layout are Maildirs side by side. Each mailbox read is named, and those whose name says they
    hold no correspondence are left out; a message in a Maildir's cur/ that is not mail is reported."""
    profile = tmp_path / "Mail" / "Local Folders"
    (profile / "Inbox.sbd").mkdir(parents=True)
    (profile / "Inbox").write_bytes(_mbox(fixture("forward_gmail.eml")))
    (profile / "Inbox.msf").write_bytes(b"// <!-- <mdb:mork:z v=\"1.4\"/> -->")
    (profile / "Inbox.sbd" / "Clients").write_bytes(_mbox(fixture("forward_outlook.eml")))
    (profile / "Sent.mbox").write_bytes(_mbox(fixture("nylas_bad_date.eml")))
    for name in ("Trash", "Junk", "Drafts", "Templates"):
        (profile / name).write_bytes(_mbox(fixture("forward_gmail.eml")))
    synced = tmp_path / "Mail" / "work"
    for name in ("INBOX", "Sent", "Spam", "Deleted Items"):
        for part in ("cur", "new", "tmp"):
            (synced / name / part).mkdir(parents=True)
        shutil.copy(FIXTURES / "forward_apple_mail.eml", synced / name / "cur" / "1700000000.1_1.host:2,S")
    (synced / "INBOX" / "new" / "1700000001.2_1.host").write_bytes(b"\x00\x01 not a message")
    (synced / "INBOX" / "tmp" / "1700000002.3_1.host").write_bytes(fixture("forward_gmail.eml"))
    folders = Folders()
    read = list(read_mailbox(tmp_path / "Mail", RECEIVED, folders=folders))
    assert [type(item).__name__ for item in read] == ["ParsedMail"] * 4 + ["Unreadable", "ParsedMail"]
    assert isinstance(read[4], Unreadable) and read[4].path.parent.name == "new"  # in new/: mail or reported
    assert folders.read == ["Local Folders/Inbox", "Local Folders/Inbox.sbd/Clients", "Local Folders/Sent.mbox",
                            "work/INBOX", "work/Sent"]
    assert folders.line() == (
        "Folders read: Local Folders/Inbox, Local Folders/Inbox.sbd/Clients, Local Folders/Sent.mbox, work/INBOX, "
        "work/Sent; left out: Local Folders/Drafts (never sent), Local Folders/Junk (spam), Local Folders/Templates "
        "(never sent), Local Folders/Trash (deleted mail), work/Deleted Items (deleted mail), work/Spam (spam)")
    assert count_messages(tmp_path / "Mail") == 6
    # one of them given as PATH is read, whatever its name
    assert len(_read(profile / "Trash")) == 1 and len(_read(synced / "Spam")) == 1


def test_an_ics_files_identity_is_its_events(tmp_path: Path) -> None:
    ics = fixture("exchange_w_europe_request.ics")
    (tmp_path / "one.ics").write_bytes(ics)
    (tmp_path / "two.ics").write_bytes(ics)
    (tmp_path / "update.ics").write_bytes(ics.replace(b"SEQUENCE:1", b"SEQUENCE:2"))
    (tmp_path / "empty.ics").write_bytes(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n")
    empty, one, two, update = _read(tmp_path)
    assert isinstance(one, ParsedMail) and isinstance(two, ParsedMail) and isinstance(update, ParsedMail)
    assert one.identity == two.identity != update.identity
    assert empty == Unreadable(tmp_path / "empty.ics", None, "the calendar holds no invitation or cancellation")


def test_progress_adds_up_to_the_bytes_of_the_path(tmp_path: Path) -> None:
    (tmp_path / "a.mbox").write_bytes(_mbox(*(fixture("forward_gmail.eml") for _ in range(50))))
    shutil.copy(FIXTURES / "libical_incoming.ics", tmp_path / "b.ics")
    (tmp_path / "c.txt").write_text("not mail")
    steps: list[int] = []
    read = list(read_mailbox(tmp_path, RECEIVED, progress=steps.append))
    assert len(read) == 51 == count_messages(tmp_path)
    assert sum(steps) == mailbox_bytes(tmp_path) and len(steps) > 50


def test_a_file_that_cannot_be_opened_is_reported(tmp_path: Path) -> None:
    missing = tmp_path / "gone.mbox"
    assert _read(missing) == [Unreadable(missing, None, "cannot be read (No such file or directory)")]


# --- memory that does not grow with the mailbox --------------------------------------------------------------


def _generated(count: int) -> Iterator[bytes]:
    """`count` messages of the kinds an exported mailbox holds: plain replies (body skipped), forwards and
    multipart messages with an attachment (bodies read), each with a body of some size."""
    filler = (b"Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 30 + b"\n") * 3
    for n in range(count):
        head = (
            f"From sender{n % 50}@client{n % 9}.example Mon Jan  1 10:00:00 2024\n"
            f"From: Sender {n} <sender{n % 50}@client{n % 9}.example>\nTo: sam@agency.example\n"
            f"Cc: alex@agency.example\nDate: Mon, 1 Jan 2024 10:{n % 60:02d}:00 +0000\n"
            f"Message-ID: <m{n}@client.example>\n"
        ).encode()
        if n % 10 == 0:
            yield (
                head
                + b"Subject: Fwd: numbers\n\n---------- Forwarded message ---------\nFrom: a@b.example\n"
                + (b"Date: Mon, 1 Jan 2024 09:00:00 +0000\nTo: c@d.example\n\n" + filler + b"\n")
            )
        elif n % 10 == 1:
            yield head + (
                b'Subject: deck\nContent-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\n'
                + filler
                + b"\n--b\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n"
                + (b"JVBERi0xLjQK" * 6 + b"\n") * 60
                + b"\n--b--\n\n"
            )
        else:
            yield head + b"Subject: re: numbers\n\n" + filler + b"\n"


def test_reading_a_mailbox_ten_times_larger_takes_no_more_memory(tmp_path: Path) -> None:
    """One pass over 20,000 messages (over 100 MB): the traced peak after all of them is the peak after the
    first 2,000, give or take. (The standard library's mailbox.mbox first builds a table of the whole file
    and reads each message whole, attachments included.)"""
    path = tmp_path / "large.mbox"
    with path.open("wb") as out:
        out.writelines(_generated(20_000))
    assert path.stat().st_size > 100_000_000
    gc.collect()
    tracemalloc.start()
    try:
        read = 0
        for item in read_mailbox(path, RECEIVED):
            assert isinstance(item, ParsedMail)
            read += 1
            if read == 2_000:
                early = tracemalloc.get_traced_memory()[1]
        late = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert read == 20_000
    assert late < early * 1.5 + 1_000_000, (early, late)
    assert late < 20_000_000
