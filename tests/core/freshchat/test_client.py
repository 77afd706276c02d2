from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from byoc.errors import (
    ConfigurationError,
    DeliveryError,
    PermanentError,
    RateLimited,
    RetryableError,
    StaleConversation,
)
from byoc.freshchat.client import FreshchatClient, FreshchatRefused
from byoc.testing.routing import Response, json_response

from .fakes import API_URL, TOKEN, FakeFreshchat

Call = Callable[[FreshchatClient], Awaitable[dict[str, Any]]]


@pytest.fixture
def client(http: httpx.AsyncClient) -> FreshchatClient:
    return FreshchatClient(API_URL, TOKEN, http=http)


# -- requests on the wire ------------------------------------------------------------------------

ENDPOINTS: list[tuple[str, Call, str, str, dict[str, str]]] = [
    (
        "find_users",
        lambda c: c.find_users("viber:u1"),
        "GET",
        "/v2/users",
        {"reference_id": "viber:u1"},
    ),
    ("create_user", lambda c: c.create_user({"reference_id": "r"}), "POST", "/v2/users", {}),
    ("get_user", lambda c: c.get_user("u1"), "GET", "/v2/users/u1", {}),
    (
        "list_user_conversations",
        lambda c: c.list_user_conversations("u1"),
        "GET",
        "/v2/users/u1/conversations",
        {},
    ),
    (
        "create_conversation",
        lambda c: c.create_conversation(
            {"channel_id": "ch", "users": [{"id": "u1"}], "messages": []}
        ),
        "POST",
        "/v2/conversations",
        {},
    ),
    ("get_conversation", lambda c: c.get_conversation("c1"), "GET", "/v2/conversations/c1", {}),
    (
        "update_conversation",
        lambda c: c.update_conversation("c1", {"status": "resolved"}),
        "PUT",
        "/v2/conversations/c1",
        {},
    ),
    (
        "post_message",
        lambda c: c.post_message("c1", {"message_parts": []}),
        "POST",
        "/v2/conversations/c1/messages",
        {},
    ),
    (
        "list_messages",
        lambda c: c.list_messages("c1", items_per_page=20, page=2),
        "GET",
        "/v2/conversations/c1/messages",
        {"items_per_page": "20", "page": "2"},
    ),
    (
        "list_channels",
        lambda c: c.list_channels(),
        "GET",
        "/v2/channels",
        {"page": "1", "items_per_page": "100"},
    ),
    (
        "account_configuration",
        lambda c: c.account_configuration(),
        "GET",
        "/v2/accounts/configuration",
        {},
    ),
]


@pytest.mark.parametrize(
    ("call", "method", "path", "query"),
    [pytest.param(call, m, p, q, id=name) for name, call, m, p, q in ENDPOINTS],
)
async def test_each_method_is_one_call_with_freshchat_headers(
    fake: FakeFreshchat,
    client: FreshchatClient,
    call: Call,
    method: str,
    path: str,
    query: dict[str, str],
) -> None:
    fake.answer(json_response({"answered": True}))

    assert await call(client) == {"answered": True}

    [request] = fake.requests
    assert (request.method, request.path, request.query) == (method, path, query)
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["accept"] == "application/json"
    assert request.headers["content-type"] == "application/json"


async def test_json_bodies_are_sent_as_utf8_json(
    fake: FakeFreshchat, client: FreshchatClient
) -> None:
    body = {"message_parts": [{"text": {"content": "안녕하세요 👋"}}]}
    await client.post_message("c1", body)
    assert json.loads(fake.requests[0].body) == body


async def test_ids_are_opaque_path_segments() -> None:
    seen: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path)
        return httpx.Response(200, json={"conversations": []})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        await FreshchatClient(API_URL, TOKEN, http=http).list_user_conversations("Denise_a/b?c")
    assert seen == [b"/v2/users/Denise_a%2Fb%3Fc/conversations"]


@pytest.mark.parametrize(("method", "field"), [("upload_image", "image"), ("upload_file", "file")])
async def test_uploads_are_multipart_with_the_documented_field(
    fake: FakeFreshchat, client: FreshchatClient, method: str, field: str
) -> None:
    answer = await getattr(client, method)("사진.jpg", b"\xff\xd8data", "image/jpeg")

    [request] = fake.requests
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert f'name="{field}"'.encode() in request.body
    assert b"\xff\xd8data" in request.body
    assert answer["file_hash" if field == "file" else "url"]


@pytest.mark.parametrize(
    "token", [TOKEN, f"Bearer {TOKEN}", f"bearer {TOKEN}", f"  {TOKEN}\n", f"Bearer  {TOKEN} "]
)
async def test_bearer_prefix_is_never_doubled(
    fake: FakeFreshchat, http: httpx.AsyncClient, token: str
) -> None:
    await FreshchatClient(API_URL, token, http=http).account_configuration()
    assert fake.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("url", [API_URL, API_URL + "/", f" {API_URL}/ "])
async def test_api_url_with_or_without_trailing_slash(
    fake: FakeFreshchat, http: httpx.AsyncClient, url: str
) -> None:
    await FreshchatClient(url, TOKEN, http=http).list_channels()
    assert fake.requests[0].path == "/v2/channels"


async def test_api_url_without_v2_is_used_as_given_and_the_404_says_so(
    fake: FakeFreshchat, http: httpx.AsyncClient
) -> None:
    client = FreshchatClient("https://acme.freshchat.com", TOKEN, http=http)
    with pytest.raises(FreshchatRefused) as caught:
        await client.list_channels()
    assert caught.value.http_status == 404
    assert "/v2" in str(caught.value) and "BYOC_FRESHCHAT_API_URL" in str(caught.value)
    assert fake.requests == []  # /channels is not a route: nothing was guessed


@pytest.mark.parametrize(
    ("url", "token"),
    [
        ("acme.freshchat.com/v2", TOKEN),
        ("", TOKEN),
        (API_URL, ""),
        (API_URL, "Bearer "),
        (API_URL, "ab cd"),
    ],
)
def test_unusable_settings_are_configuration_errors(url: str, token: str) -> None:
    with pytest.raises(ConfigurationError, match="BYOC_FRESHCHAT_API_(URL|TOKEN)"):
        FreshchatClient(url, token)


# -- status codes ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 201, 202])
async def test_every_2xx_is_success(
    fake: FakeFreshchat, client: FreshchatClient, status: int
) -> None:
    fake.answer(json_response({"code": status, "status": "ACCEPTED", "message": "ok"}, status))
    assert (await client.create_user({}))["code"] == status


async def test_an_empty_2xx_body_is_an_empty_object(
    fake: FakeFreshchat, client: FreshchatClient
) -> None:
    fake.answer(Response(status=200, body=b""))
    assert await client.create_conversation({}) == {}


@pytest.mark.parametrize("body", [b"<html>ok</html>", b"[1, 2]"])
async def test_an_unreadable_2xx_body_is_permanent_not_retried(
    fake: FakeFreshchat, client: FreshchatClient, body: bytes
) -> None:
    fake.answer(Response(status=200, body=body, content_type="text/html"))
    with pytest.raises(PermanentError) as caught:
        await client.post_message("c1", {})
    assert not isinstance(caught.value, RetryableError)


@pytest.mark.parametrize("status", [401, 403])
async def test_auth_failures_name_the_token_setting_and_never_the_token(
    fake: FakeFreshchat, client: FreshchatClient, status: int
) -> None:
    fake.answer(
        json_response(
            {"code": status, "status": "UNAUTHORIZED", "message": f"bad token {TOKEN}"}, status
        )
    )
    with pytest.raises(ConfigurationError) as caught:
        await client.get_user("u1")
    text = str(caught.value)
    assert "BYOC_FRESHCHAT_API_TOKEN" in text
    assert "Admin > API Tokens" in text and "revokes the old one" in text
    assert TOKEN not in text and TOKEN[:20] not in text


async def test_a_wrong_token_is_refused_by_the_fake_too(
    fake: FakeFreshchat, http: httpx.AsyncClient
) -> None:
    with pytest.raises(ConfigurationError, match="BYOC_FRESHCHAT_API_TOKEN"):
        await FreshchatClient(API_URL, "eyJwrong", http=http).account_configuration()


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"Retry-After": "0"}, 0.0),
        ({}, None),
        ({"Retry-After": "soon"}, None),
    ],
)
async def test_429_is_rate_limited_with_retry_after_seconds(
    fake: FakeFreshchat, client: FreshchatClient, headers: dict[str, str], expected: float | None
) -> None:
    fake.answer(
        json_response(
            {"code": 429, "status": "TOO_MANY_REQUESTS", "message": "rate limited"}, 429, headers
        )
    )
    with pytest.raises(RateLimited) as caught:
        await client.find_users("r")
    assert caught.value.retry_after == expected


async def test_429_retry_after_as_an_http_date(
    fake: FakeFreshchat, client: FreshchatClient
) -> None:
    later = datetime.now(timezone.utc) + timedelta(seconds=120)
    fake.answer(
        Response(status=429, body=b"", headers={"Retry-After": format_datetime(later, usegmt=True)})
    )
    with pytest.raises(RateLimited) as caught:
        await client.find_users("r")
    assert caught.value.retry_after is not None
    assert 100 < caught.value.retry_after <= 120


@pytest.mark.parametrize(
    "response",
    [
        json_response({"code": 500, "status": "INTERNAL_SERVER_ERROR", "message": "oops"}, 500),
        Response(
            status=502,
            body=b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
            content_type="text/html",
        ),
        json_response({"code": 503, "status": "SERVICE_UNAVAILABLE", "message": "down"}, 503),
        Response(status=504, body=b""),
        Response(status=408, body=b"request timeout", content_type="text/plain"),
    ],
)
async def test_server_errors_are_retryable(
    fake: FakeFreshchat, client: FreshchatClient, response: Response
) -> None:
    fake.answer(response)
    with pytest.raises(RetryableError) as caught:
        await client.post_message("c1", {})
    assert not isinstance(caught.value, RateLimited)
    assert caught.value.retry_after is None
    assert str(response.status) in str(caught.value)


async def test_503_honours_retry_after(fake: FakeFreshchat, client: FreshchatClient) -> None:
    fake.answer(Response(status=503, body=b"", headers={"Retry-After": "30"}))
    with pytest.raises(RetryableError) as caught:
        await client.list_channels()
    assert caught.value.retry_after == 30.0


async def test_an_html_error_page_gives_a_readable_message(
    fake: FakeFreshchat, client: FreshchatClient
) -> None:
    fake.answer(
        Response(
            status=502,
            body=b"<html><head><title>502 Bad Gateway</title></head><body>x</body></html>",
            content_type="text/html",
        )
    )
    with pytest.raises(
        RetryableError, match=r"POST /conversations/c1/messages answered 502: 502 Bad Gateway"
    ):
        await client.post_message("c1", {})


@pytest.mark.parametrize(
    "body",
    [
        {"code": 400, "status": "INVALID_VALUE", "message": "User is not the latest conversation"},
        {
            "code": 400,
            "status": "BAD_REQUEST",
            "message": "Conversation c1 is NOT THE LATEST CONVERSATION of user",
        },
    ],
)
async def test_not_the_latest_conversation_is_stale(
    fake: FakeFreshchat, client: FreshchatClient, body: dict[str, Any]
) -> None:
    fake.answer(json_response(body, 400))
    with pytest.raises(StaleConversation) as caught:
        await client.post_message("c1", {"message_parts": []})
    assert caught.value.conversation_id == "c1"


async def test_stale_text_as_plain_body_is_stale_too(
    fake: FakeFreshchat, client: FreshchatClient
) -> None:
    fake.answer(
        Response(status=400, body=b"not the latest conversation", content_type="text/plain")
    )
    with pytest.raises(StaleConversation):
        await client.post_message("c1", {})


@pytest.mark.parametrize(
    ("status", "body", "code", "freshchat_status", "message"),
    [
        (
            400,
            b'{"code":400,"status":"INVALID_VALUE",'
            b'"message":"Fragment not supported in conversation"}',
            400,
            "INVALID_VALUE",
            "Fragment not supported in conversation",
        ),
        (
            404,
            b'{"code":404,"status":"USER_NOT_FOUND","message":"user not found"}',
            404,
            "USER_NOT_FOUND",
            "user not found",
        ),
        (
            409,
            b'{"code":409,"status":"CONFLICT","message":"conflict"}',
            409,
            "CONFLICT",
            "conflict",
        ),
        (404, b"<html><title>Not Found</title></html>", None, None, "Not Found"),
        (400, b"", None, None, "(empty body)"),
        (422, b"\xff\xfe not utf-8", None, None, "\ufffd\ufffd not utf-8"),
    ],
)
async def test_other_4xx_are_permanent_and_carry_freshchat_s_error(
    fake: FakeFreshchat,
    client: FreshchatClient,
    status: int,
    body: bytes,
    code: int | None,
    freshchat_status: str | None,
    message: str,
) -> None:
    fake.answer(Response(status=status, body=body))
    with pytest.raises(FreshchatRefused) as caught:
        await client.post_message("c1", {})
    error = caught.value
    assert isinstance(error, PermanentError) and not isinstance(error, StaleConversation)
    assert (error.http_status, error.code, error.status, error.message) == (
        status,
        code,
        freshchat_status,
        message,
    )
    assert f"POST /conversations/c1/messages answered {status}" in str(error)


async def test_stale_text_elsewhere_than_a_conversation_call_is_just_refused(
    fake: FakeFreshchat, client: FreshchatClient
) -> None:
    fake.answer(
        json_response({"code": 400, "status": "X", "message": "not the latest conversation"}, 400)
    )
    with pytest.raises(FreshchatRefused):
        await client.create_user({})


async def test_a_redirect_points_at_the_url_setting(
    fake: FakeFreshchat, client: FreshchatClient
) -> None:
    fake.answer(Response(status=302, body=b"", headers={"Location": "https://login.example/"}))
    with pytest.raises(ConfigurationError, match="BYOC_FRESHCHAT_API_URL"):
        await client.list_channels()


# -- transport failures ------------------------------------------------------------------------


def _raising(exc: Exception) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return httpx.MockTransport(handler)


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ReadTimeout("read timed out"),
        httpx.ConnectTimeout("connect timed out"),
        httpx.PoolTimeout("pool"),
        httpx.WriteTimeout("write"),
    ],
)
async def test_timeouts_are_retryable(exc: Exception) -> None:
    async with httpx.AsyncClient(transport=_raising(exc)) as http:
        client = FreshchatClient(API_URL, TOKEN, http=http, timeout=2.5)
        with pytest.raises(RetryableError, match=r"timed out after 2\.5 s") as caught:
            await client.post_message("c1", {})
    assert not isinstance(caught.value, RateLimited)


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError("connection refused"),
        httpx.ReadError("connection reset"),
        httpx.RemoteProtocolError("server disconnected"),
    ],
)
async def test_connection_errors_are_retryable(exc: Exception) -> None:
    async with httpx.AsyncClient(transport=_raising(exc)) as http:
        with pytest.raises(RetryableError):
            await FreshchatClient(API_URL, TOKEN, http=http).get_user("u1")


async def test_errors_never_contain_the_token() -> None:
    async with httpx.AsyncClient(transport=_raising(httpx.ConnectError("refused"))) as http:
        with pytest.raises(DeliveryError) as caught:
            await FreshchatClient(API_URL, TOKEN, http=http).get_user("u1")
    assert TOKEN not in str(caught.value)


# -- lifecycle -----------------------------------------------------------------------------------


async def test_aclose_closes_only_a_client_it_made(http: httpx.AsyncClient) -> None:
    given = FreshchatClient(API_URL, TOKEN, http=http)
    await given.aclose()
    assert not http.is_closed

    owned = FreshchatClient(API_URL, TOKEN)
    made = owned.http  # made on first use
    assert isinstance(made, httpx.AsyncClient)
    await owned.aclose()
    assert made.is_closed
