"""The threads that work out answers after an acknowledgement run behind the threads that acknowledge (PRODUCT.md §7:
an acknowledgement within 1.5× of a bare Bolt app's while answers are being worked out; bench/ack_latency.py)."""

from __future__ import annotations

import os
import sys

import pytest

from bot.app import ANSWER_NICE, Backlog, _behind_acknowledgements

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="a thread's own nice value is Linux's")


def _nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, 0)  # on Linux, the calling thread's


def test_an_answer_thread_runs_at_a_lower_priority_and_the_acknowledging_threads_do_not():
    backlog = Backlog()
    answers = backlog.pool(1, "rapport-command", _behind_acknowledgements)
    listeners = backlog.pool(1, "rapport-listener")
    before = _nice()
    try:
        assert answers.submit(_nice).result(timeout=5) == min(before + ANSWER_NICE, 19)
        assert listeners.submit(_nice).result(timeout=5) == before
        assert _nice() == before, "the process itself keeps its priority"
    finally:
        answers.shutdown(wait=True)
        listeners.shutdown(wait=True)
    assert backlog.pending() == 0
