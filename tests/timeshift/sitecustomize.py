"""Imported by every Python process the suite starts while RAPPORT_TEST_TODAY moves the clock (tests/clock_shift.py)."""

import os

_offset = os.environ.get("TEST_CLOCK_OFFSET_SECONDS")
if _offset:
    from datetime import UTC, datetime

    import time_machine

    time_machine.travel(datetime.fromtimestamp(datetime.now(UTC).timestamp() + float(_offset), UTC),
                        tick=True).start()
