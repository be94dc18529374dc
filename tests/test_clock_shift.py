"""The suite can run as if today were another day, and CI knows which tests need that."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

from tests.clock_shift import OFFSET, SITE, pairs_a_date_with_the_machine_clock


def test_a_process_the_suite_starts_lives_on_the_moved_day():
    # the machine's own clock, even when this run has moved ours
    machine_now = datetime.now(UTC).timestamp() - float(os.environ.get(OFFSET, "0"))
    offset = datetime(2028, 2, 29, 23, 30, tzinfo=UTC).timestamp() - machine_now
    shown = subprocess.run([sys.executable, "-c", "import datetime; print(datetime.date.today())"],
                           env={OFFSET: repr(offset), "PYTHONPATH": str(SITE)}, capture_output=True, text=True,
                           check=True).stdout
    assert shown.strip() == "2028-02-29"


def test_a_module_pairing_a_calendar_date_with_the_machine_clock_is_found(tmp_path):
    fragile = tmp_path / "test_fragile.py"
    fragile.write_text('from tests.cli import run\n\ndef test_it(tmp_path):\n'
                       '    run(["sweep", "--at", "2026-12-28T10:00Z"], tmp_path)\n')
    relative = tmp_path / "test_relative.py"
    relative.write_text('from tests.cli import iso, monday_after, run\n\ndef test_it(tmp_path):\n'
                        '    run(["sweep", "--at", iso(monday_after(days=30))], tmp_path)\n')
    injected = tmp_path / "test_injected.py"
    injected.write_text("from datetime import UTC, datetime\nNOW = datetime(2026, 11, 16, tzinfo=UTC)\n")
    assert pairs_a_date_with_the_machine_clock(fragile)
    assert not pairs_a_date_with_the_machine_clock(relative)
    assert not pairs_a_date_with_the_machine_clock(injected)
