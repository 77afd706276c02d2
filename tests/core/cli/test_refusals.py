"""Refused connections make one line per cause, then at most one summary per window."""

from __future__ import annotations

import asyncio
import errno
import logging
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from byoc.cli.refusals import RefusalLog, loop_exception_handler

CAP = ("connection cap 100 reached", "raise BYOC_MAX_CONNECTIONS")
FILES = ("accept() failed: out of file descriptors (EMFILE)", "raise the file limit")


class Later:
    """A stand-in for `loop.call_later`: runs the scheduled callback when the test says."""

    def __init__(self) -> None:
        self.pending: list[tuple[float, Callable[[], None]]] = []

    def __call__(self, delay: float, callback: Callable[[], None]) -> None:
        self.pending.append((delay, callback))

    def elapse(self) -> None:
        due, self.pending = self.pending, []
        for _, callback in due:
            callback()


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def refusal_log() -> tuple[RefusalLog, Later, Lines]:
    log = logging.getLogger("test.refusals")
    log.propagate = False
    lines = Lines()
    log.handlers = [lines]
    later = Later()
    return RefusalLog(log, later, window=60.0), later, lines


def test_the_first_refusal_names_the_cause_and_the_rest_are_summed_up_a_minute_later() -> None:
    refusals, later, lines = refusal_log()
    for _ in range(1000):
        refusals.note(*CAP)
    assert lines.lines == [
        "refusing connections: connection cap 100 reached; raise BYOC_MAX_CONNECTIONS"
    ]
    assert [delay for delay, _ in later.pending] == [60.0]
    later.elapse()
    assert lines.lines[1] == (
        "refused 999 connections in the last 60 s: 999 × connection cap 100 reached; "
        "raise BYOC_MAX_CONNECTIONS"
    )
    # A quiet minute ends the summaries; the next refusal is news again.
    later.elapse()
    assert len(lines.lines) == 2 and later.pending == []
    refusals.note(*CAP)
    assert len(lines.lines) == 3 and lines.lines[2].startswith("refusing connections:")


def test_a_second_cause_gets_its_own_first_line() -> None:
    refusals, later, lines = refusal_log()
    refusals.note(*CAP)
    refusals.note(*FILES)
    refusals.note(*FILES)
    assert len(lines.lines) == 2 and "EMFILE" in lines.lines[1]
    later.elapse()
    assert "1 × accept() failed" in lines.lines[2] and "raise the file limit" in lines.lines[2]


@given(st.lists(st.one_of(st.sampled_from([CAP, FILES]), st.none()), max_size=300))
@settings(max_examples=100, deadline=None)
def test_lines_stay_bounded_and_every_refusal_is_counted(
    events: list[tuple[str, str] | None],
) -> None:
    # None: a window passes.
    refusals, later, lines = refusal_log()
    windows = 1
    for event in [*events, None, None]:
        if event is None:
            later.elapse()
            windows += 1
        else:
            refusals.note(*event)
    counted = 0
    for line in lines.lines:
        if line.startswith("refusing connections:"):
            counted += 1
        else:
            counted += int(line.split()[1])
    assert counted == sum(1 for e in events if e is not None)
    # Per window: one first line per cause, and one summary.
    assert len(lines.lines) <= 3 * windows


async def test_failed_accepts_go_to_the_refusal_log_and_the_rest_to_the_default_handler(
    caplog: pytest.LogCaptureFixture,
) -> None:
    refusals, _, lines = refusal_log()
    handle = loop_exception_handler(refusals)
    loop = asyncio.get_running_loop()
    for _ in range(50):
        handle(
            loop,
            {
                "message": "socket.accept() out of system resource",
                "exception": OSError(errno.EMFILE, "Too many open files"),
            },
        )
    assert lines.lines == [
        "refusing connections: accept() failed: out of file descriptors (EMFILE); raise the "
        "file limit (ulimit -n, systemd LimitNOFILE) or lower BYOC_MAX_CONNECTIONS"
    ]
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        handle(loop, {"message": "something else", "exception": RuntimeError("boom")})
    assert "something else" in caplog.text
