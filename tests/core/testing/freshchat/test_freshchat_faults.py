"""Fault injection: throttling, errors, stale conversations, latency, hangs, via Python and HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from freshchat_doubles import Receiver, Steps

from byoc.testing.clock import FakeClock
from byoc.testing.freshchat import Fault, FreshchatEmulator

MESSAGES = "/v2/conversations/{id}/messages"


async def test_rate_limit_with_retry_after_then_normal(
    api: httpx.AsyncClient, emulator: FreshchatEmulator
) -> None:
    emulator.faults.rate_limit(times=2, retry_after=3)
    for _ in range(2):
        response = await api.get("/channels")
        assert response.status_code == 429
        assert response.headers["retry-after"] == "3"
        assert response.json() == {
            "code": 429,
            "status": "TOO_MANY_REQUESTS",
            "message": "Too many requests, try again later",
        }
    assert (await api.get("/channels")).status_code == 200
    assert emulator.faults.active == []


async def test_rate_limit_without_retry_after(
    api: httpx.AsyncClient, emulator: FreshchatEmulator
) -> None:
    emulator.faults.rate_limit()
    response = await api.get("/channels")
    assert response.status_code == 429 and "retry-after" not in response.headers


async def test_fractional_retry_after_for_fast_tests(
    api: httpx.AsyncClient, emulator: FreshchatEmulator
) -> None:
    emulator.faults.rate_limit(retry_after=0.25)
    assert (await api.get("/channels")).headers["retry-after"] == "0.25"


@pytest.mark.parametrize(
    ("status", "name"), [(500, "INTERNAL_SERVER_ERROR"), (503, "SERVICE_UNAVAILABLE")]
)
async def test_server_errors(
    api: httpx.AsyncClient, emulator: FreshchatEmulator, steps: Steps, status: int, name: str
) -> None:
    user_id = await steps.user()
    emulator.faults.server_error(times=1, status=status, method="POST", route="/v2/conversations")
    assert (await api.get("/channels")).status_code == 200  # other routes are untouched
    failed = await api.post("/conversations", json={})
    assert failed.status_code == status and failed.json()["status"] == name
    await steps.conversation(user_id)  # the fault is spent


async def test_a_failing_call_is_not_handled(
    api: httpx.AsyncClient, emulator: FreshchatEmulator, steps: Steps
) -> None:
    user_id = await steps.user()
    conversation_id = await steps.conversation(user_id)
    emulator.faults.server_error(status=503, route=MESSAGES)
    assert (await steps.say(conversation_id, user_id, "lost")).status_code == 503
    assert len(emulator.conversation_messages(conversation_id)) == 2  # hello + welcome


async def test_stale_conversation_fault(emulator: FreshchatEmulator, steps: Steps) -> None:
    user_id = await steps.user()
    conversation_id = await steps.conversation(user_id)
    emulator.faults.stale_conversation(times=1)
    response = await steps.say(conversation_id, user_id, "hi")
    assert response.status_code == 400
    assert response.json() == {
        "code": 400,
        "status": "INVALID_VALUE",
        "message": f"Conversation {conversation_id} is not the latest conversation",
    }
    assert (await steps.say(conversation_id, user_id, "hi")).status_code == 200


async def test_latency_waits_on_the_clock(
    api: httpx.AsyncClient, emulator: FreshchatEmulator, clock: FakeClock
) -> None:
    emulator.faults.latency(0.25, method="GET")
    emulator.faults.latency(0.5, route="/v2/channels", times=1)
    emulator.faults.rate_limit(route="/v2/channels")
    throttled = await api.get("/channels")
    assert throttled.status_code == 429  # latency stacks with the other kinds
    assert (await api.get("/channels")).status_code == 200
    await api.post("/users", json={})
    assert clock.sleeps == [0.25, 0.5, 0.25]


async def _until_called(emulator: FreshchatEmulator, key: tuple[str, str]) -> None:
    # The hung request has counted its call before it waits; yield until it got that far.
    while not emulator.calls[key]:
        await asyncio.sleep(0)


@pytest.mark.parametrize(("then_process", "status", "stored"), [(False, 504, 2), (True, 200, 3)])
async def test_a_hang_lasts_until_released(
    emulator: FreshchatEmulator, steps: Steps, then_process: bool, status: int, stored: int
) -> None:
    user_id = await steps.user()
    conversation_id = await steps.conversation(user_id)
    emulator.faults.hang(route=MESSAGES, then_process=then_process)
    call = asyncio.create_task(steps.say(conversation_id, user_id, "anyone?"))
    await _until_called(emulator, ("POST", MESSAGES))
    assert not call.done()
    emulator.faults.release()
    response = await call
    assert response.status_code == status
    assert len(emulator.conversation_messages(conversation_id)) == stored


async def test_a_hang_with_a_ceiling_ends_by_itself(
    api: httpx.AsyncClient, emulator: FreshchatEmulator
) -> None:
    emulator.faults.hang(seconds=0.01)
    response = await api.get("/channels")
    assert response.status_code == 504 and response.json()["status"] == "GATEWAY_TIMEOUT"


async def test_a_client_timeout_abandons_a_hung_call(
    api: httpx.AsyncClient, emulator: FreshchatEmulator
) -> None:
    emulator.faults.hang()
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(api.get("/channels"), 0.05)
    emulator.faults.clear()
    assert (await api.get("/channels")).status_code == 200


async def test_faults_through_the_control_endpoints(
    api: httpx.AsyncClient,
    control: httpx.AsyncClient,
    emulator: FreshchatEmulator,
    steps: Steps,
    receiver: Receiver,
) -> None:
    armed = await control.post(
        "/_emulator/faults",
        json={"kind": "status", "status": 429, "retry_after": 1, "times": 2, "method": "get"},
    )
    assert armed.status_code == 200
    [fault] = armed.json()["faults"]
    assert fault["status"] == 429 and fault["remaining"] == 2 and fault["method"] == "GET"
    assert (await api.get("/channels")).headers["retry-after"] == "1"
    listed = (await control.get("/_emulator/faults")).json()
    assert listed["faults"][0]["remaining"] == 1 and listed["webhook_copies"] == 1

    duplicates = {"kind": "duplicate_webhooks", "copies": 2}
    copies = await control.post("/_emulator/faults", json=duplicates)
    assert copies.json()["webhook_copies"] == 2
    user_id = await steps.user()
    await steps.conversation(user_id, channel_id=steps.billing_channel)
    await emulator.drain()
    assert len(receiver.deliveries) == 2

    cleared = (await control.delete("/_emulator/faults")).json()
    assert cleared == {"faults": [], "webhook_copies": 1}
    assert (await api.get("/channels")).status_code == 200


async def test_hangs_are_released_through_the_control_endpoint(
    control: httpx.AsyncClient, emulator: FreshchatEmulator, api: httpx.AsyncClient
) -> None:
    await control.post("/_emulator/faults", json={"kind": "hang", "route": "/v2/groups"})
    call = asyncio.create_task(api.get("/groups"))
    await _until_called(emulator, ("GET", "/v2/groups"))
    await control.post("/_emulator/faults/release")
    assert (await call).status_code == 504


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "meteor"},
        {"kind": "status", "status": 200},
        {"kind": "status", "times": 0},
        {"kind": "status", "times": "2"},
        {"kind": "status", "retry_after": True},
        {"kind": "latency", "seconds": "1"},
        {"kind": "latency", "seconds": -1},
        {"kind": "status", "colour": "red"},
        {"kind": "duplicate_webhooks", "copies": 0},
        {"kind": "duplicate_webhooks", "copies": "2"},
    ],
)
async def test_invalid_faults_are_400(control: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await control.post("/_emulator/faults", json=body)
    assert response.status_code == 400 and response.json()["status"] == "INVALID_VALUE"
    assert (await control.get("/_emulator/faults")).json()["faults"] == []


async def test_non_finite_seconds_are_400(control: httpx.AsyncClient) -> None:
    body = b'{"kind": "status", "status": 429, "retry_after": Infinity}'
    response = await control.post("/_emulator/faults", content=body)
    assert response.status_code == 400 and "finite" in response.json()["message"]


def test_faults_round_trip_through_json() -> None:
    fault = Fault(kind="status", status=503, times=2, method="post", route=MESSAGES)
    assert fault.method == "POST"
    assert Fault.from_json(fault.to_json()) == fault
