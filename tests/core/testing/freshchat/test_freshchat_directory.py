"""Channels, agents, groups and the account configuration."""

from __future__ import annotations

import httpx

from byoc.testing.freshchat import FreshchatEmulator


async def test_channels_in_the_generic_envelope(api: httpx.AsyncClient) -> None:
    response = await api.get(
        "/channels",
        params={"page": 1, "items_per_page": 100, "sort_order": "asc", "sort_by": "name"},
    )
    assert response.status_code == 200
    body = response.json()
    assert [c["name"] for c in body["channels"]] == ["Billing", "Support"]
    assert body["pagination"]["total_items"] == 2
    assert body["links"]["first_page"]["href"].startswith("/v2/channels?")
    support = body["channels"][1]
    assert support["enabled"] is True and support["public"] is True
    assert support["welcome_message"] == {
        "message_parts": [{"text": {"content": "Hi! How can we help you today?"}}],
        "message_type": "normal",
    }
    assert body["channels"][0]["welcome_message"] is None
    desc = (await api.get("/channels", params={"sort_by": "name", "sort_order": "desc"})).json()
    assert [c["name"] for c in desc["channels"]] == ["Support", "Billing"]


async def test_agents_and_agent_by_id(api: httpx.AsyncClient, emulator: FreshchatEmulator) -> None:
    body = (await api.get("/agents")).json()
    [agent] = body["agents"]
    assert agent["id"] == emulator.state.default_agent.id
    assert agent["availability_status"] == "AVAILABLE" and agent["is_deactivated"] is False
    assert agent["groups"] == list(emulator.state.groups)
    assert body["pagination"]["total_items"] == 1
    assert (await api.get(f"/agents/{agent['id']}")).json() == agent
    missing = await api.get("/agents/nobody")
    assert missing.status_code == 404
    assert missing.json() == {
        "code": 404,
        "status": "AGENT_NOT_FOUND",
        "message": "agent not found",
    }


async def test_groups(api: httpx.AsyncClient, emulator: FreshchatEmulator) -> None:
    [group] = (await api.get("/groups")).json()["groups"]
    assert group["name"] == "Support team"
    assert group["agents"] == [emulator.state.default_agent.id]


async def test_account_configuration_checks_the_token(
    api: httpx.AsyncClient, emulator: FreshchatEmulator
) -> None:
    body = (await api.get("/accounts/configuration")).json()
    assert body["app_id"] == emulator.state.account.app_id
    assert {"organisation_id", "account_id", "account_domain", "datacenter", "plan_type"} <= set(
        body
    )
