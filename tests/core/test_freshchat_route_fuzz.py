"""Validly signed, mutated Freshchat webhooks through the bridge: the parsers run, nothing crashes.

The signature check passes (the emulator's key signs every body), so what is exercised is the
webhook parser, the part mapper, the queue and the delivery worker: any body gets 2xx or 4xx,
and no delivery dies of a bug.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from byoc.store import SQLiteStore
from byoc.testing.fake_channel import FakeChannel
from byoc.testing.rig import BRIDGE_URL, BridgeRig

URL = f"{BRIDGE_URL}/messaging/webhook"

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    # Past every bound, and half an emoji: none of it may cost more than a 4xx.
    | st.sampled_from(["9" * 4301, "x" * 70_000, "\ud83d", "2009-02-13T23:31:30Z", "😀" * 9000]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3)
    ),
    max_leaves=12,
)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[BridgeRig, dict[str, Any]]]:
    """A bridge with one linked user, and a real message_create webhook of that conversation."""
    async with BridgeRig() as rig:
        channel = FakeChannel()
        rig.attach([channel], store=SQLiteStore(tmp_path / "byoc.sqlite3"))
        await rig.freshchat.agent_reply(
            await rig.say_and_settle(channel, "ana", "hello"),
            "안녕",
            parts=[
                {"image": {"url": "https://cdn.test/a.png"}},
                {"url_button": {"url": "https://x.test", "label": "x"}},
            ],
        )
        await rig.settle()
        template = next(
            e
            for e in rig.freshchat.emitted
            if e.get("action") == "message_create" and e["actor"]["actor_type"] == "agent"
        )
        yield rig, template


def mutate(template: dict[str, Any], path: list[str], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(template)
    node: Any = body
    for key in path[:-1]:
        if not isinstance(node, dict) or not isinstance(node.get(key), (dict, list)):
            return body
        node = node[key]
    if isinstance(node, dict):
        node[path[-1]] = value
    elif isinstance(node, list) and node:
        node[0] = value
    return body


PATHS = [
    ["action"],
    ["data"],
    ["data", "message"],
    ["data", "message", "id"],
    ["data", "message", "conversation_id"],
    ["data", "message", "user_id"],
    ["data", "message", "actor_type"],
    ["data", "message", "message_type"],
    ["data", "message", "message_parts"],
    ["data", "message", "message_parts", "0"],
    ["data", "message", "reply_parts"],
    ["data", "message", "created_time"],
    ["data", "message", "botsPrivateNote"],
    ["actor"],
    ["action_time"],
]


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    mutations=st.lists(st.tuples(st.sampled_from(PATHS), json_values), min_size=1, max_size=3),
    fresh_id=st.booleans(),
)
async def test_mutated_signed_freshchat_webhooks_get_2xx_or_4xx_and_never_crash_delivery(
    world: tuple[BridgeRig, dict[str, Any]], mutations: list[tuple[list[str], Any]], fresh_id: bool
) -> None:
    rig, template = world
    body_json = template
    for path, value in mutations:
        body_json = mutate(body_json, path, value)
    if (
        fresh_id
        and isinstance(body_json.get("data"), dict)
        and isinstance(body_json["data"].get("message"), dict)
    ):
        body_json["data"]["message"]["id"] = f"fuzz-{len(rig.freshchat.emitted)}-{id(mutations)}"
    # A lone surrogate goes through as the invalid UTF-8 bytes a careless sender would write.
    body = json.dumps(body_json, ensure_ascii=False).encode("utf-8", "surrogatepass")
    signature = rig.freshchat.key.sign(body)
    response = await rig.http.post(URL, content=body, headers={"x-freshchat-signature": signature})
    assert response.status_code < 500, response.text
    await rig.settle()
    assert await rig.unexpected_dead_letters() == []
