"""BYOC_HEADER_TIMEOUT, BYOC_BODY_TIMEOUT and BYOC_MAX_CONNECTIONS: read, checked, explained."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from byoc.errors import ConfigurationError
from byoc.settings import load_settings

TIMEOUTS = ("BYOC_HEADER_TIMEOUT", "BYOC_BODY_TIMEOUT")


def test_defaults() -> None:
    s = load_settings({})
    assert (s.header_timeout, s.body_timeout, s.max_connections) == (10.0, 30.0, None)


def test_values_from_the_environment_and_the_file(tmp_path: Path) -> None:
    config = tmp_path / "byoc.toml"
    config.write_text("header_timeout = 5\nbody_timeout = 12.5\nmax_connections = 900\n")
    s = load_settings({"BYOC_HEADER_TIMEOUT": "2"}, config_file=str(config))
    assert (s.header_timeout, s.body_timeout, s.max_connections) == (2.0, 12.5, 900)


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("BYOC_HEADER_TIMEOUT", "0", "a number of seconds from 0.1 to 3600"),
        ("BYOC_BODY_TIMEOUT", "forever", "a number of seconds from 0.1 to 3600"),
        ("BYOC_MAX_CONNECTIONS", "0", "a whole number of connections from 1 to 1e+06"),
        ("BYOC_MAX_CONNECTIONS", "10.5", "a whole number"),
    ],
)
def test_bad_values_name_the_setting(name: str, value: str, said: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings({name: value})
    assert name in str(caught.value) and said in str(caught.value)


@given(name=st.sampled_from(TIMEOUTS), text=st.text(max_size=20))
@settings(max_examples=200, deadline=None)
def test_any_timeout_text_is_a_number_in_range_or_an_error_naming_the_setting(
    name: str, text: str
) -> None:
    try:
        s = load_settings({name: text})
    except ConfigurationError as exc:
        assert name in str(exc)
        return
    value = s.header_timeout if name == "BYOC_HEADER_TIMEOUT" else s.body_timeout
    assert 0.1 <= value <= 3600


@given(st.floats(0.1, 3600))
def test_any_timeout_in_range_reads_back(seconds: float) -> None:
    s = load_settings({"BYOC_HEADER_TIMEOUT": repr(seconds), "BYOC_BODY_TIMEOUT": repr(seconds)})
    assert s.header_timeout == seconds == s.body_timeout


@given(st.one_of(st.integers(-10, 2_000_000).map(str), st.text(max_size=12)))
@settings(max_examples=200, deadline=None)
def test_any_cap_text_is_a_whole_count_or_an_error_naming_the_setting(text: str) -> None:
    try:
        s = load_settings({"BYOC_MAX_CONNECTIONS": text})
    except ConfigurationError as exc:
        assert "BYOC_MAX_CONNECTIONS" in str(exc)
        return
    assert s.max_connections is None if not text.strip() else 1 <= (s.max_connections or 0)
