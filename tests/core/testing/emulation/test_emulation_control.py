"""The shared `/_emulator` routes: the control token, faults and call counts."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

from byoc.testing.clock import FakeClock
from byoc.testing.emulation.control import ControlRoutes
from byoc.testing.emulation.faults import Fault, FaultSet
from byoc.testing.emulation.refusal import Refusal
from byoc.testing.routing import Request, Response, Router, json_response


class Refused(Refusal):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self) -> Response:
        return json_response({"refused": self.message}, self.status)


class Host:
    def __init__(self, control_token: str | None) -> None:
        self.control_token = control_token
        self.faults = FaultSet(FakeClock())
        self.calls: Counter[tuple[str, str]] = Counter({("GET", "/a"): 2, ("POST", "/b"): 1})

    def total_calls(self) -> int:
        return sum(self.calls.values())

    def reset_calls(self) -> None:
        self.calls.clear()


def _client(host: Host) -> httpx.AsyncClient:
    router = Router()
    routes = ControlRoutes(
        router,
        host,
        respond=json_response,
        invalid=lambda message: Refused(422, message),
        unauthorized=Refused(401, "no"),
    )

    @routes.route("GET", "/_emulator/teapot")
    async def teapot(request: Request) -> Response:
        raise Refused(418, "short and stout")

    routes.add_fault_routes(lambda request: request.json(), Fault.from_json)
    routes.add_call_routes()
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=router), base_url="http://emu")


@pytest.mark.parametrize(
    ("authorization", "status"),
    [(None, 401), ("Bearer wrong", 401), ("Basic s3cret", 401), ("bearer s3cret", 200)],
)
async def test_the_control_token_guards_every_route(authorization: str | None, status: int) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    async with _client(Host("s3cret")) as client:
        response = await client.get("/_emulator/calls", headers=headers)
    assert response.status_code == status
    if status == 401:
        assert response.json() == {"refused": "no"}


async def test_a_refusal_raised_by_a_route_is_its_answer() -> None:
    async with _client(Host(None)) as client:
        response = await client.get("/_emulator/teapot")
    assert (response.status_code, response.json()) == (418, {"refused": "short and stout"})


async def test_faults_are_armed_listed_and_cleared_over_http() -> None:
    host = Host(None)
    async with _client(host) as client:
        armed = await client.post("/_emulator/faults", json={"kind": "status", "times": 2})
        copies = await client.post(
            "/_emulator/faults", json={"kind": "duplicate_webhooks", "copies": 2}
        )
        bad = await client.post("/_emulator/faults", json={"kind": "status", "status": 200})
        bad_copies = await client.post(
            "/_emulator/faults", json={"kind": "duplicate_webhooks", "copies": "2"}
        )
        cleared = await client.delete("/_emulator/faults")
    assert armed.json()["faults"][0]["remaining"] == 2
    assert copies.json()["webhook_copies"] == 2
    assert (bad.status_code, bad.json()) == (422, {"refused": "status must be a 4xx or 5xx code"})
    assert (bad_copies.status_code, bad_copies.json()["refused"]) == (
        422,
        "copies must be an integer",
    )
    assert cleared.json() == {"faults": [], "webhook_copies": 1}


async def test_calls_are_listed_sorted_and_reset() -> None:
    host = Host(None)
    async with _client(host) as client:
        listed = (await client.get("/_emulator/calls")).json()
        reset = (await client.delete("/_emulator/calls")).json()
    assert listed == {
        "calls": [
            {"method": "GET", "route": "/a", "count": 2},
            {"method": "POST", "route": "/b", "count": 1},
        ],
        "total": 3,
    }
    assert reset == {"calls": [], "total": 0}
