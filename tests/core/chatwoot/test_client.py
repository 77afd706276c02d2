"""The REST client against the emulator: every error mapped to what the caller should do."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from byoc.chatwoot import ChatwootClient, ChatwootRefused, Upload
from byoc.chatwoot.client import form_fields
from byoc.errors import (
    ConfigurationError,
    PermanentError,
    RateLimited,
    RetryableError,
    StaleConversation,
    UnknownUser,
)
from byoc.testing.chatwoot import ChatwootEmulator, Fault
from byoc.testing.network import VirtualNetwork
from byoc.testing.routing import Response, Router

from .conftest import CHATWOOT_URL

MESSAGES = "/api/v1/accounts/{account_id}/conversations/{id}/messages"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(30)


@pytest.fixture
async def client(
    chatwoot: ChatwootEmulator, http: httpx.AsyncClient
) -> AsyncIterator[ChatwootClient]:
    c = ChatwootClient(CHATWOOT_URL, account_id=1, token=chatwoot.token, http=http)
    yield c
    await c.aclose()


async def _conversation(client: ChatwootClient) -> str:
    created = await client.create_contact(
        {"inbox_id": 1, "identifier": "viber:a", "source_id": "viber:a"}
    )
    contact = created["payload"]["contact"]["id"]
    answer = await client.create_conversation(
        {"source_id": "viber:a", "inbox_id": 1, "contact_id": contact}
    )
    return str(answer["id"])


async def test_a_message_with_files_is_one_multipart_call(
    chatwoot: ChatwootEmulator, client: ChatwootClient
) -> None:
    conversation = await _conversation(client)
    chatwoot.reset_calls()
    message = await client.create_message(
        conversation,
        {"content": "look", "message_type": "incoming", "private": False},
        [Upload(name="a.png", content=PNG, content_type="image/png")] * 2,
    )
    assert chatwoot.total_calls() == 1
    assert message["private"] is False and message["message_type"] == 0
    assert [a["file_type"] for a in message["attachments"]] == ["image", "image"]


async def test_a_first_message_with_files_goes_in_the_conversation_call(
    chatwoot: ChatwootEmulator, client: ChatwootClient
) -> None:
    created = await client.create_contact(
        {"inbox_id": 1, "identifier": "viber:b", "source_id": "viber:b"}
    )
    answer = await client.create_conversation(
        {
            "source_id": "viber:b",
            "inbox_id": 1,
            "contact_id": created["payload"]["contact"]["id"],
            "message": {"content": "photo", "message_type": "incoming", "private": False},
        },
        [Upload(name="a.png", content=PNG, content_type="image/png")],
    )
    [message] = answer["messages"]
    assert (message["content"], message["message_type"]) == ("photo", 0)
    assert message["attachments"][0]["file_type"] == "image"


def test_form_fields_nest_as_rails_reads_them() -> None:
    fields = {
        "source_id": "s",
        "message": {"private": False, "tags": ["a", "b"], "x": None},
        "n": 3,
    }
    assert form_fields(fields) == {
        "source_id": "s",
        "message[private]": "false",
        "message[tags][]": ["a", "b"],
        "n": "3",
    }


async def test_a_refused_token_is_a_configuration_error_without_the_token(
    chatwoot: ChatwootEmulator, http: httpx.AsyncClient
) -> None:
    client = ChatwootClient(CHATWOOT_URL, account_id=1, token="wrong-token-123", http=http)
    with pytest.raises(ConfigurationError, match="BYOC_CHATWOOT_API_TOKEN") as caught:
        await client.get_inbox(1)
    assert "Invalid Access Token" in str(caught.value)
    assert "wrong-token-123" not in str(caught.value)


async def test_a_bots_token_on_a_contact_route_is_a_configuration_error(
    chatwoot: ChatwootEmulator, http: httpx.AsyncClient
) -> None:
    client = ChatwootClient(CHATWOOT_URL, account_id=1, token="bot-token", http=http)
    with pytest.raises(ConfigurationError, match="not authorized for bots"):
        await client.filter_contacts([])


@pytest.mark.parametrize("retry_after", [None, 7.0, 0.5])
async def test_429_is_rate_limited_with_its_retry_after(
    chatwoot: ChatwootEmulator, client: ChatwootClient, retry_after: float | None
) -> None:
    chatwoot.faults.add(Fault(kind="status", status=429, retry_after=retry_after, times=1))
    with pytest.raises(RateLimited) as caught:
        await client.get_inbox(1)
    assert caught.value.retry_after == retry_after
    assert "Retry later" in str(caught.value)


async def test_the_search_throttle_is_rate_limited(
    chatwoot: ChatwootEmulator, client: ChatwootClient
) -> None:
    chatwoot.limits.set("contacts/search", limit=1, period=60)
    await client.search_contacts("viber")
    with pytest.raises(RateLimited) as caught:
        await client.search_contacts("viber")
    assert caught.value.retry_after is None  # Rack::Attack sends no Retry-After by default


@pytest.mark.parametrize(
    ("status", "said"),
    [(500, "Internal Server Error"), (502, "502 Bad Gateway"), (504, "Gateway Time-out")],
)
async def test_server_errors_are_retryable_and_readable(
    chatwoot: ChatwootEmulator, client: ChatwootClient, status: int, said: str
) -> None:
    chatwoot.faults.add(Fault(kind="status", status=status, times=1))
    with pytest.raises(RetryableError, match=said) as caught:
        await client.get_inbox(1)
    assert not isinstance(caught.value, PermanentError)
    assert "<html" not in str(caught.value)


async def test_a_missing_conversation_is_stale(client: ChatwootClient) -> None:
    with pytest.raises(StaleConversation) as caught:
        await client.create_message("999", {"content": "x", "message_type": "incoming"})
    assert caught.value.conversation_id == "999"


async def test_a_missing_contact_is_an_unknown_user(client: ChatwootClient) -> None:
    for call in (
        client.get_contact("424242"),
        client.contact_conversations("424242"),
        client.create_conversation({"source_id": "viber:x", "inbox_id": 1, "contact_id": 424242}),
    ):
        with pytest.raises(UnknownUser, match="404") as caught:
            await call
        assert caught.value.user_id == "424242"
        assert isinstance(caught.value, PermanentError)


async def test_a_validation_error_carries_its_attributes(client: ChatwootClient) -> None:
    await client.create_contact({"identifier": "viber:a"})
    with pytest.raises(ChatwootRefused) as caught:
        await client.create_contact({"identifier": "viber:a"})
    assert caught.value.http_status == 422
    assert caught.value.attributes == ("identifier",)
    assert "Identifier has already been taken" in str(caught.value)


async def test_a_wrong_url_path_is_a_configuration_error(
    chatwoot: ChatwootEmulator, network: VirtualNetwork, http: httpx.AsyncClient
) -> None:
    network.add("rails.test", chatwoot.app)
    client = ChatwootClient("http://rails.test/chat", account_id=1, token=chatwoot.token, http=http)
    with pytest.raises(ConfigurationError, match="no such API route.*BYOC_CHATWOOT_URL"):
        await client.get_inbox(1)


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("chat.acme.com", "not an http"),
        ("https://chat.acme.com/api/v1", "without /api/v1"),
        ("https://chat.acme.com/api/v1/accounts/1", "without /api/v1"),
    ],
)
def test_a_bad_url_is_refused_at_once(url: str, said: str) -> None:
    with pytest.raises(ConfigurationError, match=said):
        ChatwootClient(url, account_id=1, token="t")


@pytest.mark.parametrize("token", ["", "  ", "two words", "tök"])
def test_a_bad_token_is_refused_at_once(token: str) -> None:
    with pytest.raises(ConfigurationError, match="BYOC_CHATWOOT_API_TOKEN"):
        ChatwootClient("https://chat.acme.com", account_id=1, token=token)


async def test_a_timeout_is_retryable_and_a_dead_host_too(
    chatwoot: ChatwootEmulator, network: VirtualNetwork
) -> None:
    chatwoot.faults.add(Fault(kind="hang", times=1))
    async with network.client() as http:
        client = ChatwootClient(
            CHATWOOT_URL, account_id=1, token=chatwoot.token, http=http, timeout=0.05
        )
        with pytest.raises(RetryableError, match="timed out"):
            await client.get_inbox(1)
        chatwoot.faults.release()
        nowhere = ChatwootClient("http://nowhere.test", account_id=1, token="t", http=http)
        with pytest.raises(RetryableError, match="failed to connect"):
            await nowhere.get_inbox(1)


async def test_a_2xx_body_that_is_not_a_json_object_is_permanent(
    network: VirtualNetwork, http: httpx.AsyncClient
) -> None:
    odd = Router()

    @odd.route("GET", "/api/v1/accounts/1/inboxes/1")
    async def html(request: object) -> Response:
        return Response(
            status=200, body=b"<html><title>Maintenance</title></html>", content_type="text/html"
        )

    @odd.route("GET", "/api/v1/accounts/1/inboxes/2")
    async def listed(request: object) -> Response:
        return Response(status=200, body=b"[1, 2]")

    network.add("odd.test", odd)
    client = ChatwootClient("http://odd.test", account_id=1, token="t", http=http)
    with pytest.raises(PermanentError, match="not JSON: Maintenance"):
        await client.get_inbox(1)
    with pytest.raises(PermanentError, match="JSON list"):
        await client.get_inbox(2)


async def test_the_shared_http_client_never_carries_the_token(
    chatwoot: ChatwootEmulator, client: ChatwootClient
) -> None:
    assert "api_access_token" not in client.http.headers
    assert await client.get_inbox(1)
