"""Snapshots of what people read (issue 34): the Block Kit a message or view carries, as JSON, and what it says as
text — its plain-text fallback (what notifications and screen readers get) and the blocks as the offline shell
renders them. Kept under tests/snapshots/<test file>/<test name>.{json,txt} with syrupy.

A change to what Rapport says fails these until the snapshots are regenerated and read by eye:

    .venv/bin/python -m pytest -n 0 tests/test_messages.py tests/test_digest.py tests/test_home.py \
        tests/test_help.py --snapshot-update

then `git diff tests/snapshots` is the review: every changed word is there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from syrupy.extensions.json import JSONSnapshotExtension
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode
from syrupy.location import PyTestLocation

from bot.shell.render_text import render

LONDON = ZoneInfo("Europe/London")


class _InSnapshots:
    """tests/snapshots/<test file>/<test name>.<ext>"""

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        return str(Path(test_location.filepath).parent / "snapshots" / test_location.basename)


class BlockKit(_InSnapshots, JSONSnapshotExtension):
    pass


class Reading(_InSnapshots, SingleFileSnapshotExtension):
    _write_mode = WriteMode.TEXT
    file_extension = "txt"


def reading(text: str, blocks: list[dict[str, Any]], tz: ZoneInfo = LONDON) -> str:
    """What a person reads: the notification's text, then the message as the shell shows it."""
    shown, _ = render({"blocks": blocks}, tz, lambda slack_id: slack_id)
    return f"{text}\n\n--- as shown ---\n{shown}\n"
