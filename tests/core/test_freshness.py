"""`byoc.freshness` and `byoc.bounds`: the window dated webhooks pass, the bounds of fields."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from byoc.bounds import bounded, fits
from byoc.errors import ConfigurationError, MalformedPayload, StaleWebhook
from byoc.freshness import DEDUPE_WINDOW, FreshnessWindow
from byoc.sync import DEFAULT_DEDUPE_TTL

WINDOW = FreshnessWindow(max_age=3600, max_skew=60)
NOW = 1_700_000_000.0
NAMES = ("BYOC_X_MAX_WEBHOOK_AGE", "BYOC_X_WEBHOOK_CLOCK_SKEW")


def test_the_freshness_limit_is_the_bridges_dedupe_window() -> None:
    assert DEDUPE_WINDOW == DEFAULT_DEDUPE_TTL


@given(offset=st.floats(-10_000, 10_000, allow_nan=False))
def test_a_time_passes_exactly_within_the_window(offset: float) -> None:
    sent = NOW - offset
    if -60 <= offset <= 3600:
        WINDOW.check(sent, now=NOW, what="x")
        WINDOW.check(datetime.fromtimestamp(sent, timezone.utc), now=NOW, what="x")
    else:
        with pytest.raises(StaleWebhook) as caught:
            WINDOW.check(sent, now=NOW, what="x")
        assert caught.value.status_code == 401
        assert str(caught.value).startswith("stale webhook: x sent at 2023-11-1")


def test_no_time_or_a_window_turned_off_passes() -> None:
    WINDOW.check(None, now=NOW, what="x")
    FreshnessWindow(max_age=0, max_skew=0).check(0.0, now=NOW, what="x")


def test_a_time_beyond_any_calendar_is_still_a_clear_refusal() -> None:
    with pytest.raises(StaleWebhook, match="sent at 1e\\+30|Unix seconds"):
        WINDOW.check(1e30, now=NOW, what="x")


def test_a_window_must_be_shorter_than_the_dedupe_window() -> None:
    with pytest.raises(ValueError, match="dedupe window"):
        FreshnessWindow(max_age=DEDUPE_WINDOW, max_skew=0)
    with pytest.raises(ValueError, match="max_skew"):
        FreshnessWindow(max_age=60, max_skew=-1)


@pytest.mark.parametrize("value", ["abc", "-5", "inf", "nan", "1e999"])
def test_a_bad_setting_names_itself(value: str) -> None:
    with pytest.raises(ConfigurationError, match="BYOC_X_MAX_WEBHOOK_AGE must be a number"):
        FreshnessWindow.from_env({"BYOC_X_MAX_WEBHOOK_AGE": value}, *NAMES, default=WINDOW)


def test_settings_replace_the_default_one_by_one() -> None:
    read = FreshnessWindow.from_env({"BYOC_X_WEBHOOK_CLOCK_SKEW": "5"}, *NAMES, default=WINDOW)
    assert read == FreshnessWindow(max_age=3600, max_skew=5)
    assert FreshnessWindow.from_env({}, *NAMES, default=WINDOW) == WINDOW


@given(value=st.text(max_size=40), limit=st.integers(0, 30))
def test_bounded_returns_what_fits_and_refuses_the_rest_without_quoting_it(
    value: str, limit: int
) -> None:
    if len(value) <= limit:
        assert bounded(value, limit, "a field") == value
        assert fits(value, limit)
    else:
        with pytest.raises(MalformedPayload) as caught:
            bounded(value, limit, "a field")
        assert str(caught.value) == (
            f"a field is {len(value):,} characters long, over the {limit:,} accepted"
        )


def test_a_measure_counts_as_the_sender_does() -> None:
    def utf16(text: str) -> int:
        return len(text.encode("utf-16-le")) // 2

    assert fits("😀" * 5, 10, utf16) and not fits("😀" * 6, 10, utf16)
