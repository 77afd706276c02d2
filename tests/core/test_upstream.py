"""`byoc.upstream`: one meaning for each HTTP answer, Retry-After in both of its forms."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from byoc.errors import (
    ConfigurationError,
    PermanentError,
    RateLimited,
    RetryableError,
)
from byoc.upstream import (
    error_for_status,
    json_object,
    parse_retry_after,
    raise_for_status,
    raise_unless_refusal,
    retry_after_of,
    summary,
    transport_errors,
)

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc).timestamp()


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert parse_retry_after("120", now=NOW) == 120.0
    assert parse_retry_after(" 1.5 ", now=NOW) == 1.5
    assert parse_retry_after("Wed, 01 May 2024 12:00:30 GMT", now=NOW) == 30.0
    assert parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", now=NOW) == 0.0  # past: now
    for unreadable in (None, "", "-5", "nan", "inf", "tomorrow", "1e3"):
        assert parse_retry_after(unreadable, now=NOW) is None


def test_an_http_date_is_measured_against_the_system_clock_by_default() -> None:
    later = datetime.now(timezone.utc) + timedelta(minutes=2)
    response = httpx.Response(429, headers={"Retry-After": format_datetime(later, usegmt=True)})
    hint = retry_after_of(response)
    assert hint is not None and 100 < hint <= 120


@given(st.text(max_size=40))
def test_any_header_value_gives_seconds_or_none(value: str) -> None:
    hint = parse_retry_after(value, now=NOW)
    assert hint is None or hint >= 0


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (429, RateLimited),
        (408, RetryableError),
        (500, RetryableError),
        (502, RetryableError),
        (503, RetryableError),
        (400, PermanentError),
        (404, PermanentError),
        (410, PermanentError),
        (422, PermanentError),
        (302, PermanentError),
    ],
)
def test_each_status_means_one_thing(status: int, kind: type[Exception]) -> None:
    error = error_for_status(status, f"X answered {status}", retry_after=3.0)
    assert type(error) is kind and str(error) == f"X answered {status}"
    if isinstance(error, RetryableError):
        assert error.retry_after == 3.0


@pytest.mark.parametrize("status", [200, 201, 204])
def test_success_is_no_error(status: int) -> None:
    assert error_for_status(status, "fine") is None
    raise_for_status(httpx.Response(status), "fine")


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_credential_names_the_fix_when_there_is_one(status: int) -> None:
    error = error_for_status(status, "X answered", credentials="check BYOC_X_TOKEN")
    assert isinstance(error, ConfigurationError)
    assert str(error) == "X answered; check BYOC_X_TOKEN"
    # Without one (a messenger's 403 for a user who blocked the bot) it is a refusal.
    assert type(error_for_status(status, "X answered")) is PermanentError


def test_raise_for_status_takes_the_hint_from_the_header() -> None:
    with pytest.raises(RateLimited) as caught:
        raise_for_status(httpx.Response(429, headers={"Retry-After": "7"}), "X throttled")
    assert caught.value.retry_after == 7.0
    with pytest.raises(RetryableError) as retry:
        raise_for_status(httpx.Response(503), "X down")
    assert retry.value.retry_after is None


@pytest.mark.parametrize(
    ("failure", "kind", "said"),
    [
        (httpx.ReadTimeout("slow"), RetryableError, "X send timed out after 2.5 s (ReadTimeout)"),
        (httpx.ConnectError("refused"), RetryableError, "X send failed to connect (refused)"),
        (httpx.RemoteProtocolError("eof"), RetryableError, "X send failed: RemoteProtocolError"),
        (httpx.UnsupportedProtocol("ftp"), ConfigurationError, "check BYOC_X_API_URL"),
    ],
)
def test_transport_failures_become_byoc_errors(
    failure: Exception, kind: type[Exception], said: str
) -> None:
    with pytest.raises(kind, match=said.replace("(", r"\(").replace(")", r"\)")):
        with transport_errors("X send", url_setting="BYOC_X_API_URL", timeout=2.5):
            raise failure


async def test_the_url_and_its_token_are_never_quoted() -> None:
    secret = "bot123456:SECRET"

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        with pytest.raises(RetryableError) as caught:
            with transport_errors("Telegram sendMessage"):
                await http.post(f"https://api.telegram.test/{secret}/sendMessage")
    assert secret not in str(caught.value)


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


def test_a_json_object_is_read_and_no_body_is_empty() -> None:
    assert json_object(httpx.Response(200, content=b'{"id": 7}'), what="GET /x") == {"id": 7}
    assert json_object(httpx.Response(204, content=b""), what="DELETE /x") == {}


@pytest.mark.parametrize(
    ("body", "said"),
    [(b"<html><title>Oops</title></html>", "not JSON: Oops"), (b"[1]", "JSON list, not an object")],
)
def test_an_unreadable_success_is_permanent(body: bytes, said: str) -> None:
    with pytest.raises(PermanentError, match=said):
        json_object(httpx.Response(200, content=body), what="POST /x")


@pytest.mark.parametrize(
    ("status", "headers", "kind"),
    [
        (301, {"Location": "https://new.example"}, ConfigurationError),
        (401, {}, ConfigurationError),
        (403, {}, ConfigurationError),
        (429, {"Retry-After": "3"}, RateLimited),
        (408, {}, RetryableError),
        (503, {}, RetryableError),
    ],
)
def test_what_is_not_a_refusal_is_raised_for_the_client(
    status: int, headers: dict[str, str], kind: type[Exception]
) -> None:
    answer = httpx.Response(status, headers=headers)
    with pytest.raises(kind, match="GET /x answered") as caught:
        raise_unless_refusal(answer, "GET /x answered", credentials="check T", url_help="set U")
    if status == 301:
        assert "a redirect to https://new.example); set U" in str(caught.value)
    if status in (401, 403):
        assert "check T" in str(caught.value)


@pytest.mark.parametrize("status", [200, 204, 400, 404, 409, 422])
def test_successes_and_refusals_are_left_to_the_client(status: int) -> None:
    raise_unless_refusal(httpx.Response(status), "GET /x", credentials="", url_help="")
