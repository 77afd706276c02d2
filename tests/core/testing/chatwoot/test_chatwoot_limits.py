"""Rack::Attack's throttles and the injected faults, as a client meets them."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from chatwoot_doubles import ACCOUNT, Steps

from byoc.testing.chatwoot import ChatwootEmulator, Fault
from byoc.testing.clock import FakeClock

MESSAGES = "/api/v1/accounts/{account_id}/conversations/{id}/messages"


async def test_contact_search_is_throttled_per_account_and_filter_is_not(
    emulator: ChatwootEmulator, api: httpx.AsyncClient, clock: FakeClock
) -> None:
    emulator.limits.set("contacts/search", limit=3, period=60.0)
    search = f"{ACCOUNT}/contacts/search"
    answers = [(await api.get(search, params={"q": "x"})).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    throttled = await api.get(search, params={"q": "x"})
    assert (throttled.text, throttled.headers["content-type"]) == ("Retry later\n", "text/plain")
    assert "retry-after" not in throttled.headers  # Rack::Attack's default
    rule = {"attribute_key": "identifier", "filter_operator": "equal_to", "values": ["x"]}
    filtered = await api.post(f"{ACCOUNT}/contacts/filter", json={"payload": [rule]})
    assert filtered.status_code == 200
    await clock.advance(60.0)
    assert (await api.get(search, params={"q": "x"})).status_code == 200


async def test_the_retry_after_header_can_be_turned_on(
    emulator: ChatwootEmulator, api: httpx.AsyncClient, clock: FakeClock
) -> None:
    emulator.limits.set("req/ip", limit=1, period=60.0)
    emulator.limits.retry_after_header = True
    await api.get(f"{ACCOUNT}/inboxes")
    throttled = await api.get(f"{ACCOUNT}/inboxes")
    assert throttled.status_code == 429
    assert 0 < float(throttled.headers["retry-after"]) <= 60


@pytest.mark.parametrize(
    ("status", "content_type", "said"),
    [
        (429, "text/plain", "Retry later"),
        (500, "application/json", '"error":"Internal Server Error"'),
        (502, "text/html", "502 Bad Gateway"),
        (503, "text/html", "503 Service Temporarily Unavailable"),
    ],
)
async def test_injected_statuses_answer_as_the_real_path_would(
    emulator: ChatwootEmulator,
    api: httpx.AsyncClient,
    status: int,
    content_type: str,
    said: str,
) -> None:
    emulator.faults.add(Fault(kind="status", status=status, times=1, retry_after=2))
    failed = await api.get(f"{ACCOUNT}/inboxes")
    assert failed.status_code == status
    assert failed.headers["content-type"].startswith(content_type) and said in failed.text
    assert failed.headers["retry-after"] == "2"
    assert (await api.get(f"{ACCOUNT}/inboxes")).status_code == 200


async def test_faults_match_by_method_and_route(
    emulator: ChatwootEmulator, api: httpx.AsyncClient, steps: Steps
) -> None:
    conversation = await steps.conversation(await steps.contact("viber:a"))
    emulator.faults.add(Fault(kind="status", status=503, method="post", route=MESSAGES))
    url = f"{ACCOUNT}/conversations/{conversation}/messages"
    assert (await api.get(url)).status_code == 200
    assert (await api.post(url, json={"content": "x"})).status_code == 503
    assert (await api.post(url, json={"content": "x"})).status_code == 503
    assert emulator.calls[("POST", MESSAGES)] == 2


async def test_latency_waits_on_the_clock(
    emulator: ChatwootEmulator, api: httpx.AsyncClient, clock: FakeClock
) -> None:
    emulator.faults.add(Fault(kind="latency", seconds=4.0, method="GET", times=1))
    before = clock.time()
    assert (await api.get(f"{ACCOUNT}/inboxes")).status_code == 200
    assert clock.time() - before >= 4.0


async def test_a_hang_that_then_processes_did_the_work(
    emulator: ChatwootEmulator, api: httpx.AsyncClient, steps: Steps
) -> None:
    conversation = await steps.conversation(await steps.contact("viber:a"))
    emulator.faults.add(Fault(kind="hang", then_process=True, times=1))
    url = f"{ACCOUNT}/conversations/{conversation}/messages"
    call = asyncio.ensure_future(api.post(url, json={"content": "x", "message_type": "incoming"}))
    await emulator.faults.hanging()
    assert not call.done()
    emulator.faults.release()
    assert (await call).status_code == 200
    assert [m["content"] for m in emulator.conversation_messages(conversation)][-1] == "x"


async def test_a_hang_without_processing_answers_504_and_does_nothing(
    emulator: ChatwootEmulator, api: httpx.AsyncClient, steps: Steps
) -> None:
    conversation = await steps.conversation(await steps.contact("viber:a"))
    before = len(emulator.conversation_messages(conversation))
    emulator.faults.add(Fault(kind="hang", seconds=0.01, times=1))
    url = f"{ACCOUNT}/conversations/{conversation}/messages"
    answer = await api.post(url, json={"content": "x", "message_type": "incoming"})
    assert answer.status_code == 504
    assert len(emulator.conversation_messages(conversation)) == before


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"kind": "explode"}, "kind"),
        ({"kind": "status", "status": 200}, "status"),
        ({"kind": "status", "times": 0}, "times"),
        ({"kind": "status", "times": True}, "times"),
        ({"kind": "latency", "seconds": -1}, "seconds"),
        ({"kind": "status", "colour": "red"}, "colour"),
        ({"kind": None}, "kind"),
    ],
)
def test_a_bad_fault_is_refused_naming_the_field(body: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        Fault.from_json(body)


def test_a_fault_round_trips_through_json() -> None:
    fault = Fault(kind="status", status=429, retry_after=1.5, times=3, method="get", route="/x")
    assert Fault.from_json(fault.to_json()) == fault
    assert fault.method == "GET"
