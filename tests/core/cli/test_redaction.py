"""Secrets never reach a log line, an error printed by the command, or a repr."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from hypothesis import given
from hypothesis import strategies as st

from byoc.redaction import (
    MASK,
    SECRET_FREE,
    RedactingFormatter,
    Redactor,
    Secret,
    is_secret_setting,
)


def test_secret_shows_a_mask_and_reveals_on_request() -> None:
    token = Secret("0123456789abcdef")
    assert str(token) == MASK and "0123" not in repr(token) and f"{token}" == MASK
    assert token.reveal() == "0123456789abcdef"
    assert bool(token) and not Secret("")


def test_setting_names_that_hold_credentials() -> None:
    for name in (
        "BYOC_FRESHCHAT_API_TOKEN",
        "BYOC_ADMIN_TOKEN",
        "BYOC_VIBER_AUTH_TOKEN",
        "BYOC_KAKAO_CLIENT_SECRET",
        "BYOC_KAKAO_WEBHOOK_SECRET",
        "BYOC_KAKAO_REST_API_KEY",
    ):
        assert is_secret_setting(name), name
    for name in ("BYOC_PUBLIC_URL", "BYOC_FRESHCHAT_WEBHOOK_PUBLIC_KEY", "BYOC_VIBER_SENDER_NAME"):
        assert not is_secret_setting(name), name


def test_redactor_blanks_every_known_secret_longest_first() -> None:
    redactor = Redactor(["abcdef123456", "abcdef123456789", "tiny"])
    assert redactor.redact("a abcdef123456789 b abcdef123456 c tiny") == (
        f"a {MASK} b {MASK} c tiny"
    )


@given(secret=st.text(min_size=6, max_size=30).filter(lambda s: s.strip() == s), around=st.text())
def test_a_redacted_text_never_holds_the_secret(secret: str, around: str) -> None:
    text = around + secret + around
    assert secret not in Redactor([secret]).redact(text) or secret in MASK


@contextmanager
def redacting_logger(name: str) -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose lines go through a `RedactingFormatter` into the stream yielded with it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter(Redactor(["s3cret-token-value"]), "%(message)s"))
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)


def test_log_lines_and_tracebacks_are_redacted() -> None:
    with redacting_logger("byoc.test.redaction") as (logger, stream):
        logger.warning("calling with %s", "s3cret-token-value")
        try:
            raise ValueError("token s3cret-token-value refused")
        except ValueError:
            logger.exception("failed")
    written = stream.getvalue()
    assert "s3cret-token-value" not in written
    assert written.count(MASK) == 3


def test_only_a_line_marked_secret_free_skips_the_search() -> None:
    with redacting_logger("byoc.test.secret_free") as (logger, stream):
        logger.warning("plain s3cret-token-value")
        # The marker is its caller's promise that the line holds ids only: it is not searched.
        logger.warning("marked s3cret-token-value", extra=SECRET_FREE)
        try:
            raise ValueError("token s3cret-token-value refused")
        except ValueError:
            # A traceback is free text whatever the line says.
            logger.exception("marked, with a traceback", extra=SECRET_FREE)
    lines = stream.getvalue()
    assert f"plain {MASK}" in lines
    assert "marked s3cret-token-value" in lines
    assert f"ValueError: token {MASK} refused" in lines


@given(st.lists(st.floats(min_value=1e9, max_value=2e9), min_size=1, max_size=20))
def test_time_stamps_are_those_of_the_standard_formatter(instants: list[float]) -> None:
    ours = RedactingFormatter(Redactor([]), "%(asctime)s %(message)s")
    standard = logging.Formatter("%(asctime)s %(message)s")
    for instant in sorted(instants):
        record = logging.LogRecord("byoc", logging.INFO, __file__, 1, "m", None, None)
        record.created = instant
        record.msecs = (instant - int(instant)) * 1000
        assert ours.format(record) == standard.format(record)


_FORMATS = (
    "%(asctime)s %(levelname)s %(name)s: %(message)s",
    "%(asctime)s replica-2 %(levelname)s %(name)s: %(message)s",
    "%(levelname)s %(message)s",
    "%(message)s",
)


@given(
    fmt=st.sampled_from(_FORMATS),
    text=st.text(max_size=40).map(lambda t: t.replace("%", "%%")),
    args=st.lists(st.integers() | st.text(max_size=10), max_size=3),
    failing=st.booleans(),
    stack=st.booleans(),
)
def test_lines_are_those_of_the_standard_formatter(
    fmt: str, text: str, args: list[object], failing: bool, stack: bool
) -> None:
    # The formatter builds a line without a traceback in one `%` operation of its own: the
    # line must stay what `logging.Formatter` writes, with or without a traceback.
    message = text + " %r" * len(args)
    exc_info = None
    if failing:
        try:
            raise ValueError("boom")
        except ValueError as exc:
            exc_info = (type(exc), exc, exc.__traceback__)
    ours = RedactingFormatter(Redactor([]), fmt)
    standard = logging.Formatter(fmt)
    record = logging.LogRecord(
        "byoc.hops", logging.INFO, __file__, 1, message, tuple(args) or None, exc_info
    )
    if stack:
        record.stack_info = "Stack (most recent call last):\n  here"
    assert ours.format(record) == standard.format(record)
    assert ours.format(record) == standard.format(record)  # a second time: exc_text is cached
