"""Properties: whatever a client sends, the emulator answers 2xx or 4xx, never 5xx."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from freshchat_doubles import Steps
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from byoc.testing.freshchat import FreshchatEmulator, WebhookKey
from byoc.testing.freshchat.state import iso_time, parse_iso_time
from byoc.testing.freshchat.wire import paginate

# One emulator serves every example of a test: state piling up across examples is the point.
SHARED = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
PART_KINDS = [
    "text",
    "image",
    "file",
    "video",
    "email",
    "url_button",
    "quick_reply_button",
    "callback",
    "collection",
    "reference",
    "template_content",
    "sticker",
]
PART_FIELDS = ["content", "url", "label", "payload", "fileHash", "sub_parts", "type", "sections"]
GOOD_PARTS = [
    {"text": {"content": "hi"}},
    {"image": {"url": "https://cdn.example/a.png"}},
    {"file": {"url": "https://cdn.example/a.pdf"}},
    {"url_button": {"url": "https://x", "label": "Open"}},
    {"collection": {"sub_parts": [{"quick_reply_button": {"label": "Yes"}}]}},
    {
        "template_content": {
            "type": "carousel",
            "sections": [{"parts": [{"text": {"content": ""}}]}],
        }
    },
]


random_parts = st.dictionaries(
    st.sampled_from(PART_KINDS),
    st.dictionaries(st.sampled_from(PART_FIELDS), json_values, max_size=3) | json_values,
    max_size=2,
)
parts = st.lists(st.sampled_from(GOOD_PARTS) | random_parts, min_size=1, max_size=3)


@pytest.fixture
async def world(
    webhook_key: WebhookKey,
) -> AsyncIterator[tuple[FreshchatEmulator, httpx.AsyncClient, dict[str, str]]]:
    async with FreshchatEmulator(key=webhook_key) as fc, fc.client(authenticated=True) as api:
        steps = Steps(fc, api)
        user_id = await steps.user()
        conversation_id = await steps.conversation(user_id)
        ids = {
            "user": user_id,
            "conversation": conversation_id,
            "channel": steps.support_channel,
            "agent": steps.agent_id,
            "group": steps.group_id,
        }
        yield fc, api, ids


def valid_bodies(ids: dict[str, str]) -> dict[str, st.SearchStrategy[dict[str, Any]]]:
    """Per kind of request, bodies the real service would take (parts may be broken)."""
    message = st.fixed_dictionaries(
        {
            "actor_type": st.just("user"),
            "actor_id": st.just(ids["user"]),
            "message_parts": parts,
        }
    ) | st.fixed_dictionaries(
        {
            "actor_type": st.just("agent"),
            "actor_id": st.just(ids["agent"]),
            "message_type": st.sampled_from(["normal", "private"]),
            "message_parts": parts,
            "reply_parts": parts,
        }
    )
    return {
        "message": message,
        "conversation": st.fixed_dictionaries(
            {
                "channel_id": st.just(ids["channel"]),
                "users": st.just([{"id": ids["user"]}]),
                "messages": st.lists(message, max_size=2),
            }
        ),
        "update": st.fixed_dictionaries(
            {},
            optional={
                "status": st.sampled_from(["new", "assigned", "resolved", "reopened"]),
                "assigned_agent_id": st.sampled_from([ids["agent"], " ", None]),
                "assigned_group_id": st.sampled_from([ids["group"], None]),
                "properties": st.dictionaries(st.text(max_size=8), scalars, max_size=2),
            },
        ),
        "user": st.fixed_dictionaries(
            {"reference_id": st.text(max_size=8)},
            optional={
                "email": st.text(max_size=8),
                "avatar": st.fixed_dictionaries({"url": st.text(max_size=8)}),
                "properties": st.lists(
                    st.fixed_dictionaries({"name": st.text(max_size=5), "value": scalars}),
                    max_size=2,
                ),
            },
        ),
    }


KEYS = [
    "actor_type",
    "actor_id",
    "message_type",
    "message_parts",
    "reply_parts",
    "users",
    "channel_id",
    "messages",
    "status",
    "assigned_agent_id",
    "assigned_group_id",
    "properties",
    "reference_id",
    "avatar",
    "email",
]


@SHARED
@given(data=st.data())
async def test_random_json_to_every_write_route_is_never_a_5xx(
    world: tuple[FreshchatEmulator, httpx.AsyncClient, dict[str, str]], data: st.DataObject
) -> None:
    emulator, api, ids = world
    conversation = data.draw(st.sampled_from([ids["conversation"], "missing"]))
    user = data.draw(st.sampled_from([ids["user"], "missing"]))
    method, path, kind = data.draw(
        st.sampled_from(
            [
                ("POST", "/users", "user"),
                ("PUT", f"/users/{user}", "user"),
                ("POST", "/conversations", "conversation"),
                ("PUT", f"/conversations/{conversation}", "update"),
                ("POST", f"/conversations/{conversation}/messages", "message"),
            ]
        )
    )
    # A valid body with up to two fields replaced by anything, or any JSON at all.
    valid = data.draw(valid_bodies(ids)[kind])
    broken = data.draw(st.dictionaries(st.sampled_from(KEYS), json_values, max_size=2))
    body = data.draw(st.sampled_from([{**valid, **broken}, valid]) | json_values)
    raw = json.dumps(body).encode()
    response = await api.request(method, path, content=raw)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        error = response.json()
        assert set(error) == {"code", "status", "message"}
        assert error["code"] == response.status_code


@SHARED
@given(
    body=st.binary(max_size=300),
    content_type=st.sampled_from(
        ["multipart/form-data; boundary=b", "multipart/form-data", "application/json", ""]
    ),
)
async def test_random_bytes_are_never_a_5xx(
    world: tuple[FreshchatEmulator, httpx.AsyncClient, dict[str, str]],
    body: bytes,
    content_type: str,
) -> None:
    _, api, ids = world
    for path in (
        "/users",
        "/conversations",
        f"/conversations/{ids['conversation']}/messages",
        "/images/upload",
        "/files/upload",
    ):
        response = await api.post(path, content=body, headers={"Content-Type": content_type})
        assert response.status_code < 500


@SHARED
@given(data=st.data())
async def test_random_json_to_the_control_endpoints_is_never_a_5xx(
    world: tuple[FreshchatEmulator, httpx.AsyncClient, dict[str, str]], data: st.DataObject
) -> None:
    emulator, _, ids = world
    base = f"/_emulator/conversations/{ids['conversation']}"
    agent = ["agent_id", "by_agent_id", "group_id"]
    fault = ["kind", "status", "times", "retry_after", "seconds", "copies", "route", "method"]
    method, path, keys = data.draw(
        st.sampled_from(
            [
                ("POST", f"{base}/reply", ["text", "parts", "reply_parts", "agent_id"]),
                ("POST", f"{base}/note", ["text", "agent_id"]),
                ("POST", f"{base}/resolve", agent),
                ("POST", f"{base}/reopen", agent),
                ("POST", f"{base}/assign", agent),
                ("POST", "/_emulator/faults", fault),
                ("PUT", "/_emulator/webhook", ["url", "payload"]),
            ]
        )
    )
    values = json_values | st.sampled_from([*GOOD_PARTS, *ids.values()]) | st.lists(parts)
    body = data.draw(st.fixed_dictionaries({}, optional=dict.fromkeys(keys, values)) | json_values)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator.app), base_url=emulator.public_url
    ) as control:
        response = await control.request(method, path, content=json.dumps(body).encode())
    assert response.status_code < 500, response.text
    # Armed faults and webhook routing would spill into the next example.
    emulator.faults.clear()
    emulator.webhook_url = None


@SHARED
@given(
    query=st.dictionaries(
        st.sampled_from(
            ["reference_id", "created_from", "updated_to", "page", "items_per_page", "from_time"]
        ),
        st.text(max_size=30),
        max_size=4,
    )
)
async def test_random_queries_are_never_a_5xx(
    world: tuple[FreshchatEmulator, httpx.AsyncClient, dict[str, str]], query: dict[str, str]
) -> None:
    _, api, ids = world
    for path in ("/users", "/channels", f"/conversations/{ids['conversation']}/messages"):
        response = await api.get(path, params=query)
        assert response.status_code < 500


@given(st.integers(min_value=0, max_value=253_402_300_799_999))
def test_times_round_trip(ms: int) -> None:
    assert parse_iso_time(iso_time(ms)) == ms


@given(total=st.integers(0, 60), size=st.integers(1, 25))
def test_following_next_page_links_visits_every_item_once(total: int, size: int) -> None:
    items = [{"n": i} for i in range(total)]
    query = {"reference_id": "x", "items_per_page": str(size)}
    seen: list[dict[str, int]] = []
    while True:
        page = paginate(items, key="users", path="/v2/users", query=query)
        seen += page["users"]
        if "next_page" not in page["links"]:
            break
        href = page["links"]["next_page"]["href"]
        query = dict(httpx.URL(href).params)
    assert seen == items
