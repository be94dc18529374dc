"""Erasure leaves nothing behind (PRODUCT.md §3): after `/client forget`, the client's name, its notes and its
promises' and issues' words are in no stored message (the weekly digests and the owners' monthly-review messages,
sent or planned), and on SQLite not in the database file's free pages or its write-ahead log either. Through
signed commands, the confirmation click and the sweeps that plan and post those messages.

On the code before issue 30 the digest's and the monthly message's rows still held the name, the promise and the
issue, and the SQLite file still held the name and the note.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, time
from pathlib import Path

from sqlalchemy import select

from storage.db import make_engine
from storage.models import Nudge
from tests.conftest import buttons
from tests.test_sweep import posts, run_sweep, words

SECRETS = ("Zanzibar Quokka", "codename Bluefin", "Marmoset audit", "Pangolin export")


def _rows(rapport) -> list[Nudge]:
    with rapport.database.sessions() as session:
        return list(session.scalars(select(Nudge).order_by(Nudge.id)))


def _files(rapport) -> list[Path]:
    path = Path(rapport.database.engine.url.database or "")
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-journal")) if p.exists()]


def _found_in(data: bytes) -> list[str]:
    lowered = data.lower()
    return [secret for secret in SECRETS if secret.lower().encode() in lowered]


def test_forgetting_a_client_leaves_its_name_and_words_in_no_message_row_and_no_database_page(rapport):
    rapport.clock.now = datetime(2026, 11, 23, 10, tzinfo=UTC)  # a Monday
    rapport.command("channel default <#CTEAM|team>", user="UADMIN")
    rapport.command("add Zanzibar Quokka Holdings")
    rapport.command("add Other Co")
    rapport.command("log zanzibar quokka holdings call from : codename Bluefin is on")
    rapport.command("promise zanzibar quokka holdings the Marmoset audit by 2026-12-04")
    rapport.command("issue zanzibar quokka holdings Pangolin export is broken")
    rapport.command("promise other co the slides by 2026-12-04")
    run_sweep(rapport, datetime(2026, 12, 1, 10, tzinfo=UTC))  # November frozen; the owners' message goes out
    run_sweep(rapport, datetime(2026, 12, 7, 9, 30, tzinfo=UTC), digest=(0, time(9)))  # Monday's digest
    digest = next(m for m in posts(rapport, "CTEAM") if "Weekly digest" in words(m))
    assert "Zanzibar Quokka Holdings" in words(digest)  # listed once, under its worst: 2+ warning signs
    kinds = {n.kind for n in _rows(rapport) if "Zanzibar" in n.facts}
    assert {"digest", "reviews"} <= kinds  # the rows erasure must reach

    if rapport.database.engine.dialect.name == "sqlite":  # as SQLite's own checkpoints do, every 1,000 pages
        raw = rapport.database.engine.raw_connection()  # outside a transaction, where a checkpoint can run
        raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        raw.close()
        assert "Zanzibar Quokka" in _found_in(Path(rapport.database.engine.url.database or "").read_bytes())

    planned = json.loads(next(n for n in _rows(rapport) if n.kind == "digest").facts)
    forgotten = next(i["id"] for e in planned["lists"] for i in e["items"] if i["name"] == "Zanzibar Quokka Holdings")
    rapport.clock.now = datetime(2026, 12, 7, 11, tzinfo=UTC)
    confirm = next(b for b in buttons(rapport.command("forget zanzibar quokka holdings"))
                   if b["action_id"] == "forget_confirm")
    assert "Forgot Zanzibar Quokka Holdings" in rapport.click(confirm).text

    for row in _rows(rapport):
        assert _found_in(row.facts.encode()) == [], (row.kind, row.facts)
    digest_row = next(n for n in _rows(rapport) if n.kind == "digest")
    lists = {entry["title"]: entry for entry in json.loads(digest_row.facts)["lists"]}
    assert lists["2+ warning signs"]["count"] == 0 and lists["2+ warning signs"]["items"] == []  # the count follows
    assert [i["name"] for i in lists["Promises due this week"]["items"]] == ["Other Co"]
    assert all(item["id"] != forgotten for entry in lists.values() for item in entry["items"])
    monthly = next(n for n in _rows(rapport) if n.kind == "reviews")
    assert [c["name"] for c in json.loads(monthly.facts)["clients"]] == ["Other Co"]
    assert json.loads(monthly.facts)["count"] == 1

    if rapport.database.engine.dialect.name == "sqlite":
        files = _files(rapport)
        assert files, "the database file is there"
        for path in files:
            assert _found_in(path.read_bytes()) == [], path.name


def test_every_sqlite_connection_overwrites_what_it_deletes(tmp_path):
    """SQLite leaves deleted rows in the file's free pages unless secure_delete is on, and whether it is on by
    default depends on how SQLite was built (Debian's is; python.org's and Homebrew's are not): Rapport turns it on
    for every connection. Here on connections that start with it off, as those builds' do."""
    path = tmp_path / "rapport.db"

    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(path, check_same_thread=False)
        connection.execute("PRAGMA secure_delete=OFF")
        return connection

    engine = make_engine(f"sqlite:///{path}", creator=connect)
    try:
        raw = engine.raw_connection()
        assert raw.cursor().execute("PRAGMA secure_delete").fetchone() == (1,)
        raw.close()
    finally:
        engine.dispose()
