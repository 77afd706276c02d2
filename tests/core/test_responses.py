"""Reading peers' answers: JSON objects, summaries of error pages, Retry-After."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from byoc.errors import ConfigurationError, PermanentError, RateLimited, RetryableError
from byoc.responses import (
    json_object,
    parse_retry_after,
    raise_transient,
    summary,
    transport_errors,
)

NOW = 1_700_000_000.0  # Tue, 14 Nov 2023 22:13:20 GMT


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, None),
        ("", None),
        ("  ", None),
        ("120", 120.0),
        (" 1.5 ", 1.5),
        ("Tue, 14 Nov 2023 22:14:20 GMT", 60.0),
        ("Tue, 14 Nov 2023 22:00:00 GMT", 0.0),
        ("soon", None),
        ("-5", None),
    ],
)
def test_retry_after_in_seconds_or_as_a_date(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == seconds


@given(st.text(max_size=40))
def test_any_retry_after_is_a_wait_or_nothing(value: str) -> None:
    seconds = parse_retry_after(value, now=NOW)
    assert seconds is None or seconds >= 0


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            "<html><head><title>502 Bad Gateway</title></head><body>x</body></html>",
            "502 Bad Gateway",
        ),
        (
            "<p>Down for <b>maintenance</b> &amp; more</p><script>var x=1</script>",
            "Down for maintenance & more",
        ),
        ("Retry later\n", "Retry later"),
        ("", "(empty body)"),
        ("x" * 300, "x" * 199 + "…"),
    ],
)
def test_a_summary_is_one_readable_line(text: str, line: str) -> None:
    assert summary(text) == line


def _response(status: int, body: bytes) -> httpx.Response:
    return httpx.Response(status, content=body)


def test_a_json_object_is_read_and_no_body_is_empty() -> None:
    assert json_object(_response(200, b'{"id": 7}'), what="GET /x") == {"id": 7}
    assert json_object(_response(204, b""), what="DELETE /x") == {}


@pytest.mark.parametrize(
    ("body", "said"),
    [(b"<html><title>Oops</title></html>", "not JSON: Oops"), (b"[1]", "JSON list, not an object")],
)
def test_an_unreadable_success_is_permanent(body: bytes, said: str) -> None:
    with pytest.raises(PermanentError, match=said):
        json_object(_response(200, body), what="POST /x")


@pytest.mark.parametrize(
    ("status", "headers", "error", "retry_after"),
    [
        (429, {"Retry-After": "3"}, RateLimited, 3.0),
        (429, {}, RateLimited, None),
        (503, {"Retry-After": "10"}, RetryableError, 10.0),
        (500, {}, RetryableError, None),
        (408, {}, RetryableError, None),
    ],
)
def test_statuses_that_mean_try_again(
    status: int, headers: dict[str, str], error: type[RetryableError], retry_after: float | None
) -> None:
    with pytest.raises(error, match="GET /x answered") as caught:
        raise_transient(
            httpx.Response(status, headers=headers), said="GET /x answered", url_help=""
        )
    assert caught.value.retry_after == retry_after
    assert (error is RateLimited) == isinstance(caught.value, RateLimited)


def test_a_redirect_means_a_wrong_url_setting() -> None:
    moved = httpx.Response(301, headers={"Location": "https://new.example"})
    with pytest.raises(ConfigurationError, match="redirect to https://new.example.*BYOC_X_URL"):
        raise_transient(moved, said="GET /x answered 301", url_help="check BYOC_X_URL")


@pytest.mark.parametrize("status", [200, 201, 400, 401, 404, 422])
def test_other_statuses_are_left_to_the_client(status: int) -> None:
    raise_transient(httpx.Response(status), said="", url_help="")


@pytest.mark.parametrize(
    ("raised", "error", "said"),
    [
        (httpx.ReadTimeout("slow"), RetryableError, "timed out after 15 s"),
        (httpx.ConnectError("refused"), RetryableError, "failed: ConnectError: refused"),
        (httpx.UnsupportedProtocol("ftp"), ConfigurationError, "ftp; set BYOC_X_URL"),
    ],
)
def test_transport_failures_become_byoc_errors(
    raised: Exception, error: type[Exception], said: str
) -> None:
    with pytest.raises(error, match=said):
        with transport_errors("GET /x", timeout=15.0, url_help="set BYOC_X_URL"):
            raise raised


def test_other_exceptions_pass_through() -> None:
    with pytest.raises(KeyError):
        with transport_errors("GET /x", timeout=1.0, url_help=""):
            raise KeyError("not a transport error")
