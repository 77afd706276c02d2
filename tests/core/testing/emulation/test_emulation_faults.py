"""The shared fault machinery: parsing faults, arming them, latency, hangs and their release."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from byoc.testing.clock import FakeClock
from byoc.testing.emulation.faults import Fault, FaultKind, FaultSet


@attrs.frozen(kw_only=True)
class NoStaleFault(Fault):
    KINDS: ClassVar[tuple[FaultKind, ...]] = ("latency", "status", "hang")


def test_a_fault_round_trips_through_its_json_form() -> None:
    fault = Fault(kind="status", status=429, retry_after=1.5, method="post", times=2)
    assert fault.method == "POST"
    assert Fault.from_json(fault.to_json()) == fault


def test_a_subclass_parses_into_itself_and_refuses_kinds_it_does_not_know() -> None:
    assert type(NoStaleFault.from_json({"kind": "hang"})) is NoStaleFault
    with pytest.raises(ValueError, match="kind must be one of latency, status, hang"):
        NoStaleFault.from_json({"kind": "stale"})
    assert Fault.from_json({"kind": "stale"}).kind == "stale"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"kind": "status", "colour": "red"}, "unknown fault fields: colour"),
        ({"kind": "status", "status": True}, "status has the wrong type"),
        ({"kind": "status", "status": None}, "status has the wrong type"),
        ({"kind": "status", "times": 0}, "times must be at least 1"),
        ({"kind": "status", "status": 302}, "status must be a 4xx or 5xx code"),
        ({"kind": "latency", "seconds": float("inf")}, "seconds must be a finite number"),
        ({"kind": "latency", "retry_after": -1}, "retry_after must be a finite number"),
    ],
)
def test_a_bad_fault_names_what_is_wrong(fields: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        Fault.from_json(fields)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=5,
)
_FIELD_NAMES = st.sampled_from(
    ["kind", "method", "route", "times", "status", "retry_after", "seconds", "then_process", "x"]
)


@given(st.dictionaries(_FIELD_NAMES, _JSON | st.sampled_from(Fault.KINDS)))
def test_any_json_object_parses_or_raises_value_error(fields: dict[str, Any]) -> None:
    try:
        fault = Fault.from_json(fields)
    except ValueError:
        return
    assert fault.kind in Fault.KINDS and 400 <= fault.status <= 599
    assert Fault.from_json(fault.to_json()) == fault


async def test_times_counts_down_and_matching_is_by_method_and_route() -> None:
    faults = FaultSet(FakeClock())
    armed = faults.add(Fault(kind="status", status=503, method="POST", route="/a", times=2))
    assert await faults.fired("GET", "/a") is None
    assert await faults.fired("POST", "/b") is None
    assert await faults.fired("POST", "/a") is armed
    assert faults.active == [(armed, 1)]
    assert await faults.fired("POST", "/a") is armed
    assert await faults.fired("POST", "/a") is None and faults.active == []


async def test_latencies_stack_on_the_clock_and_the_call_goes_on() -> None:
    clock = FakeClock(autoadvance=True)
    faults = FaultSet(clock)
    faults.add(Fault(kind="latency", seconds=0.2))
    faults.add(Fault(kind="latency", seconds=0.3, times=1))
    assert await faults.fired("GET", "/x") is None
    assert clock.sleeps == [0.2, 0.3]
    assert await faults.fired("GET", "/x") is None
    assert clock.sleeps == [0.2, 0.3, 0.2]


@pytest.mark.parametrize("then_process", [False, True])
async def test_a_hang_lasts_until_release(then_process: bool) -> None:
    faults = FaultSet(FakeClock())
    hang = faults.add(Fault(kind="hang", then_process=then_process))
    call = asyncio.create_task(faults.fired("GET", "/x"))
    await faults.hanging()
    assert not call.done()
    faults.release()
    assert await call is (None if then_process else hang)


async def test_clear_disarms_and_stops_duplicating_webhooks() -> None:
    faults = FaultSet(FakeClock())
    faults.add(Fault(kind="status"))
    faults.duplicate_webhooks(3)
    assert faults.webhook_copies == 3
    with pytest.raises(ValueError, match="copies must be at least 1"):
        faults.duplicate_webhooks(0)
    faults.clear()
    assert faults.active == [] and faults.webhook_copies == 1


def test_the_package_exports_its_building_blocks() -> None:
    import byoc.testing.emulation as emulation

    assert sorted(emulation.__all__) == [
        "ControlRoutes",
        "Controlled",
        "DeliveryTasks",
        "DemoEmulator",
        "EmulatedDemo",
        "Fault",
        "FaultKind",
        "FaultSet",
        "Refusal",
        "RetryWindow",
        "ServedDesk",
        "WebhookDeliveries",
    ]
    assert all(hasattr(emulation, name) for name in emulation.__all__)
