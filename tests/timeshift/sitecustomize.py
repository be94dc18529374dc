"""Imported by every Python process the suite starts while RAPPORT_TEST_TODAY moves the clock (tests/clock_shift.py),
or while the month's simulation moves it day by day through a file (TEST_CLOCK_FILE: tests/month.py)."""

import os

_file = os.environ.get("TEST_CLOCK_FILE")
_offset = os.environ.get("TEST_CLOCK_OFFSET_SECONDS")
if _file:
    from following_clock import follow

    follow(_file)
elif _offset:
    from datetime import UTC, datetime

    import time_machine

    time_machine.travel(datetime.fromtimestamp(datetime.now(UTC).timestamp() + float(_offset), UTC),
                        tick=True).start()
