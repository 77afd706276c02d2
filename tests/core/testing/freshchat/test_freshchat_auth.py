"""Every API route needs the Bearer token; unknown routes answer in Freshchat's error shape."""

from __future__ import annotations

import httpx
import pytest

from byoc.testing.freshchat import FreshchatEmulator, WebhookKey

ROUTES = [
    ("GET", "/users?reference_id=x"),
    ("POST", "/users"),
    ("GET", "/users/some-id"),
    ("PUT", "/users/some-id"),
    ("GET", "/users/some-id/conversations"),
    ("POST", "/conversations"),
    ("GET", "/conversations/some-id"),
    ("PUT", "/conversations/some-id"),
    ("POST", "/conversations/some-id/messages"),
    ("GET", "/conversations/some-id/messages"),
    ("GET", "/channels"),
    ("GET", "/agents"),
    ("GET", "/agents/some-id"),
    ("GET", "/groups"),
    ("GET", "/accounts/configuration"),
    ("POST", "/images/upload"),
    ("POST", "/files/upload"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-token", "Basic test-token", "test-token", "Bearer"]
)
async def test_every_api_route_refuses_a_missing_or_bad_token(
    emulator: FreshchatEmulator, method: str, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    async with emulator.client() as client:
        response = await client.request(method, path, headers=headers, json={})
    assert response.status_code == 401
    assert response.json() == {
        "code": 401,
        "status": "UNAUTHORIZED",
        "message": "Missing or invalid API token",
    }


async def test_the_token_is_accepted_with_any_case_of_bearer(emulator: FreshchatEmulator) -> None:
    async with emulator.client() as client:
        response = await client.get(
            "/accounts/configuration", headers={"Authorization": "bearer test-token"}
        )
    assert response.status_code == 200


async def test_a_custom_token_replaces_the_default(webhook_key: WebhookKey) -> None:
    async with FreshchatEmulator("eyJsecret", key=webhook_key) as fc, fc.client() as client:
        good = await client.get("/channels", headers={"Authorization": "Bearer eyJsecret"})
        bad = await client.get("/channels", headers={"Authorization": "Bearer test-token"})
    assert (good.status_code, bad.status_code) == (200, 401)


async def test_unknown_routes_answer_404_in_freshchat_shape(api: httpx.AsyncClient) -> None:
    response = await api.get("/nothing/here")
    assert response.status_code == 404
    assert response.json() == {
        "code": 404,
        "status": "NOT_FOUND",
        "message": "No route for GET /v2/nothing/here",
    }
