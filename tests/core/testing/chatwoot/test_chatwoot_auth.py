"""Who may call the API: the token header, bots' narrower rights, the account in the path."""

from __future__ import annotations

import httpx
from chatwoot_doubles import ACCOUNT

from byoc.testing.chatwoot import ChatwootEmulator


async def test_no_token_is_devises_sign_in_error(control: httpx.AsyncClient) -> None:
    answer = await control.get(f"{ACCOUNT}/inboxes")
    assert answer.status_code == 401
    assert answer.json() == {"errors": ["You need to sign in or sign up before continuing."]}


async def test_a_wrong_token_is_an_invalid_access_token(control: httpx.AsyncClient) -> None:
    answer = await control.get(f"{ACCOUNT}/inboxes", headers={"api_access_token": "nope"})
    assert (answer.status_code, answer.json()) == (401, {"error": "Invalid Access Token"})


async def test_the_token_goes_in_the_api_access_token_header_not_authorization(
    emulator: ChatwootEmulator, control: httpx.AsyncClient
) -> None:
    bearer = {"Authorization": f"Bearer {emulator.token}"}
    assert (await control.get(f"{ACCOUNT}/inboxes", headers=bearer)).status_code == 401
    right = {"api_access_token": emulator.token}
    assert (await control.get(f"{ACCOUNT}/inboxes", headers=right)).status_code == 200


async def test_a_bots_token_reaches_only_the_conversation_endpoints(
    control: httpx.AsyncClient,
) -> None:
    bot = {"api_access_token": "bot-token"}
    refused = await control.post(f"{ACCOUNT}/contacts/filter", json={"payload": []}, headers=bot)
    assert refused.status_code == 401
    assert refused.json() == {"error": "Access to this endpoint is not authorized for bots"}
    # A conversation route lets it in (and then finds no such conversation).
    allowed = await control.post(
        f"{ACCOUNT}/conversations/999/messages", json={"content": "x"}, headers=bot
    )
    assert allowed.status_code == 404


async def test_another_account_is_not_found(api: httpx.AsyncClient) -> None:
    answer = await api.get("/api/v1/accounts/2/inboxes")
    assert (answer.status_code, answer.json()) == (404, {"error": "Resource could not be found"})


async def test_an_unknown_route_is_rails_html_page(api: httpx.AsyncClient) -> None:
    answer = await api.get("/api/v2/accounts/1/contacts")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "The page you were looking for doesn't exist" in answer.text


async def test_the_secret_is_shown_to_administrators_only(
    emulator: ChatwootEmulator, control: httpx.AsyncClient
) -> None:
    admin = await control.get(f"{ACCOUNT}/inboxes/1", headers={"api_access_token": emulator.token})
    agent = await control.get(f"{ACCOUNT}/inboxes/1", headers={"api_access_token": "agent-token"})
    assert admin.json()["channel_type"] == "Channel::Api"
    assert admin.json()["secret"] == emulator.inbox.secret
    assert "secret" not in agent.json() and "hmac_token" not in agent.json()


async def test_profile_names_the_tokens_user_and_account(api: httpx.AsyncClient) -> None:
    profile = (await api.get("/api/v1/profile")).json()
    assert profile["accounts"] == [{"id": 1, "name": "Acme Support", "role": "administrator"}]
