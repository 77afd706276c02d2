"""Validly authenticated garbage through the bridge: a 2xx or a 4xx, never a 5xx or a crash.

The bodies carry the right secret (path segment or header), so they get past authentication
and exercise parsing, the queue, the workers and Freshchat: random bytes, random JSON, and
real HappyTalk webhooks and skill requests with fields dropped or replaced.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from byoc.bridge import Delivery
from byoc.store import MemoryStore, SQLiteStore
from byoc.testing.clock import FakeClock
from byoc.testing.rig import BridgeRig
from byoc_kakao.skill_request import PAGE_PARAM
from byoc_kakao.testing import skill_payload, skill_response_problems

from .rig import SKILL_SECRET
from .roundtrip import KOREAN, OPENBUILDER_URL, KakaoWorld

_DROP = object()

# Every code point, with a fair share of lone surrogates (json.dumps escapes them as `\ud800`),
# emoji sequences, Hangul and control characters.
_ANY_TEXT = st.one_of(
    st.text(st.sampled_from(["\ud83d", "\ude00", "가", "😀", "\u200d", "🇰", "\x00", "\n", " "])),
    st.text(st.characters(exclude_categories=()), max_size=20),
    # Past every bound: more digits than int() reads, an id of 70,000 characters, a long text.
    st.sampled_from(
        ["9" * 4301, "k" * 70_000, "😀" * 12_000, "https://x.kakaocdn.net/" + "a" * 9000]
    ),
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _ANY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_ANY_TEXT, inner, max_size=3),
    max_leaves=12,
)


def mutated(valid: Any) -> st.SearchStrategy[Any]:
    """`valid` with any of its fields kept, dropped, replaced by random JSON or mutated."""
    if isinstance(valid, str):
        around = st.tuples(_ANY_TEXT, _ANY_TEXT).map(lambda p: p[0] + valid + p[1])
        return st.one_of(around, st.just(valid), JSON)
    if not isinstance(valid, dict):
        return st.one_of(st.just(valid), JSON)
    fields = {
        key: st.one_of(mutated(value), st.just(value), st.just(value), JSON, st.just(_DROP))
        for key, value in valid.items()
    }
    extra = st.dictionaries(_ANY_TEXT, JSON, max_size=2)
    return st.tuples(st.fixed_dictionaries(fields), extra).map(
        lambda pair: {**pair[1], **{k: v for k, v in pair[0].items() if v is not _DROP}}
    )


def bodies(valid: list[dict[str, Any]]) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=200),
        JSON.map(lambda v: json.dumps(v).encode()),
        st.sampled_from(valid).flatmap(mutated).map(lambda v: json.dumps(v).encode()),
    )


@asynccontextmanager
async def fuzz_world(tmp_path: Path, delivery: Delivery) -> AsyncIterator[KakaoWorld]:
    clock = FakeClock()
    async with BridgeRig() as rig:
        made = KakaoWorld(rig, clock)
        if delivery == "durable":
            channels = [made.dealer, made.chatbot]
            store: MemoryStore | SQLiteStore = SQLiteStore(tmp_path / "s.sqlite3", clock=clock)
        else:  # the chatbot refuses inline delivery
            channels = [made.dealer]
            store = MemoryStore(clock=clock)
        await made.attach(channels, store=store, delivery=delivery)
        yield made
        await made.happytalk.aclose()
        await made.openbuilder.aclose()


@pytest.fixture(params=["durable", "inline"])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[KakaoWorld]:
    async with fuzz_world(tmp_path, request.param) as made:
        yield made


@pytest.fixture
async def durable_world(tmp_path: Path) -> AsyncIterator[KakaoWorld]:
    async with fuzz_world(tmp_path, "durable") as made:
        yield made


def dealer_webhooks(world: KakaoWorld) -> list[dict[str, Any]]:
    happytalk = world.happytalk
    photo = happytalk.media.put(b"jpeg", name="p.jpg", content_type="image/jpeg")
    document = happytalk.media.put(b"%PDF", name="견적서.pdf", content_type="application/pdf")
    return [
        happytalk.webhook_body("c0eUY5TATGz1", "TX", text=KOREAN),
        happytalk.webhook_body("c0eUY5TATGz1", "IM", url=photo),
        happytalk.webhook_body("c0eUY5TATGz1", "FI", url=document, name="견적서.pdf", size=4),
        happytalk.webhook_body("c0eUY5TATGz1", "FI", url=document, shape="type"),
    ]


def skill_requests(world: KakaoWorld) -> list[dict[str, Any]]:
    openbuilder = world.openbuilder
    user = openbuilder.user()
    photo = openbuilder.media.put(b"jpeg", name="i_1.jpg", content_type="image/jpeg")
    common: dict[str, Any] = {
        "bot": openbuilder.bot,
        "user": user,
        "block": openbuilder.fallback_block,
    }
    event_block = openbuilder.event_blocks["agent_reply"]
    return [
        skill_payload(**common, utterance=KOREAN),
        skill_payload(**common, utterance=photo),
        skill_payload(
            **common, utterance="콜백", callback_url=f"{OPENBUILDER_URL}/callback/{uuid.uuid4()}"
        ),
        skill_payload(
            bot=openbuilder.bot,
            user=user,
            block=event_block,
            utterance="",
            params={PAGE_PARAM: "p"},
        ),
    ]


@settings(
    max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(data=st.data())
async def test_any_dealer_webhook_gets_a_2xx_or_4xx_and_crashes_no_worker(
    world: KakaoWorld, data: st.DataObject
) -> None:
    body = data.draw(bodies(dealer_webhooks(world)), label="body")
    answer = await world.rig.http.post(world.installed["kakao"].target_url, content=body)
    assert answer.status_code < 500, answer.text
    if answer.status_code == 200:
        assert answer.json() == {"code": 0}
    await world.settle()
    assert await world.rig.unexpected_dead_letters() == []


@settings(
    max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(data=st.data())
async def test_any_skill_request_gets_an_answer_kakao_accepts_and_crashes_no_worker(
    durable_world: KakaoWorld, data: st.DataObject
) -> None:
    world = durable_world
    body = data.draw(bodies(skill_requests(world)), label="body")
    url = world.installed["kakao-chatbot"].target_url
    if data.draw(st.booleans(), label="secret in a header"):
        url, headers = url.removesuffix(f"/{SKILL_SECRET}"), {"X-Skill-Secret": SKILL_SECRET}
    else:
        headers = {}
    answer = await world.rig.http.post(url, content=body, headers=headers)
    assert answer.status_code < 500, answer.text
    if answer.status_code == 200:
        assert skill_response_problems(answer.json(), allow_empty=True) == []
    await world.settle()
    assert await world.rig.unexpected_dead_letters() == []
