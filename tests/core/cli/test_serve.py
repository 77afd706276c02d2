"""`byoc serve` on real ports: graceful shutdown loses nothing; the demo serves its emulators."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from byoc_viber import sign

from .emulators import FreshchatServer
from .support import Running, clean_env, get_json, poll

VIBER_TOKEN = "4453b6ac12345678-e02c5f12174805f9-daec9cbb5448c51f"


class Freshchat(FreshchatServer):
    """The emulator, and what the test reads back from it."""

    def calls(self, method: str, route: str) -> int:
        answer = get_json(f"{self.base}/_emulator/calls")
        assert isinstance(answer, dict)
        return sum(
            c["count"] for c in answer["calls"] if (c["method"], c["route"]) == (method, route)
        )

    def texts_by_user(self) -> dict[str, list[str]]:
        conversations = get_json(f"{self.base}/_emulator/conversations")
        assert isinstance(conversations, dict)
        found: dict[str, list[str]] = {}
        for conversation in conversations["conversations"]:
            messages = get_json(
                f"{self.base}/_emulator/conversations/{conversation['conversation_id']}/messages"
            )
            assert isinstance(messages, dict)
            for message in messages["messages"]:
                if message["actor_type"] == "user":
                    text = message["message_parts"][0]["text"]["content"]
                    found.setdefault(text.split(":")[0], []).append(text)
        return found


@pytest.fixture
def freshchat() -> Iterator[Freshchat]:
    emulator = Freshchat()
    try:
        yield emulator
    finally:
        emulator.process.stop()


def viber_message(user: str, text: str, token: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "event": "message",
            "timestamp": int(time.time() * 1000),
            "chat_hostname": "SN-CHAT-01_",
            "message_token": token,
            "sender": {"id": user, "name": user, "language": "en", "country": "GB"},
            "message": {"type": "text", "text": text},
            "silent": False,
        }
    ).encode()
    return body, {"X-Viber-Content-Signature": sign(VIBER_TOKEN, body)}


def serve(env: dict[str, str], *options: str) -> tuple[Running, str]:
    process = Running("serve", "--port", "0", *options, env=env)
    return process, process.wait_for(r"serving on (http://\S+)").group(1)


def viber_bridge(freshchat: Freshchat, tmp_path: Path, **settings: str) -> dict[str, str]:
    """The settings of a bridge from Viber to the emulated Freshchat, stored under `tmp_path`."""
    return freshchat.settings(
        BYOC_CHANNELS="viber",
        BYOC_VIBER_AUTH_TOKEN=VIBER_TOKEN,
        BYOC_VIBER_SENDER_NAME="Acme",
        BYOC_STORE=str(tmp_path / "byoc.sqlite3"),
        **settings,
    )


def test_sigterm_finishes_deliveries_in_flight_and_the_rest_survive_a_restart(
    freshchat: Freshchat, tmp_path: Path
) -> None:
    env = viber_bridge(freshchat, tmp_path, BYOC_SHUTDOWN_GRACE="10")
    # Creating a user takes a second, so deliveries are in flight when SIGTERM comes.
    slow = {"kind": "latency", "seconds": 1.0, "method": "POST", "route": "/v2/users"}
    httpx.post(f"{freshchat.base}/_emulator/faults", json=slow).raise_for_status()

    bridge, base = serve(env)
    users = ["ana", "bo", "cy"]
    for round_ in (1, 2):
        for index, user in enumerate(users):
            body, headers = viber_message(user, f"{user}: message {round_}", round_ * 100 + index)
            answer = httpx.post(f"{base}/channels/viber/webhook", content=body, headers=headers)
            assert answer.status_code == 200, answer.text
    poll(lambda: freshchat.calls("POST", "/v2/users") == len(users))
    assert bridge.stop(signal.SIGTERM) == 0, bridge.output
    # The deliveries in flight finished: each user's first message is in Freshchat (a second
    # one too if its first finished before the signal)...
    for user in users:
        assert freshchat.texts_by_user()[user] in (
            [f"{user}: message 1"],
            [f"{user}: message 1", f"{user}: message 2"],
        )

    httpx.delete(f"{freshchat.base}/_emulator/faults").raise_for_status()
    bridge, base = serve(env)
    try:
        # ...and the second ones, still queued at shutdown, are delivered after the restart.
        poll(lambda: sum(len(t) for t in freshchat.texts_by_user().values()) == 2 * len(users))
    finally:
        assert bridge.stop(signal.SIGTERM) == 0, bridge.output
    assert freshchat.texts_by_user() == {u: [f"{u}: message 1", f"{u}: message 2"] for u in users}


def test_serve_without_credentials_runs_the_demo_with_its_emulators_mounted() -> None:
    process, base = serve(clean_env(BYOC_ADMIN_TOKEN="demo-admin-token-0123456789"))
    try:
        process.wait_for(r"serving on \S+\s+\[DEMO\]")
        process.wait_for(r"as a Viber user")
        user = httpx.post(f"{base}/emulators/viber/_emulator/users", json={"name": "Bo"}).json()
        sent = httpx.post(
            f"{base}/emulators/viber/_emulator/send",
            json={"user_id": user["id"], "message": {"type": "text", "text": "Hi!"}},
        )
        assert sent.status_code == 200
        agent = f"{base}/emulators/freshchat/_emulator"

        def conversations() -> list[dict[str, str]]:
            answer = get_json(f"{agent}/conversations")
            assert isinstance(answer, dict)
            return list(answer["conversations"])

        poll(conversations)
        conversation = conversations()[0]["conversation_id"]
        reply = httpx.post(f"{agent}/conversations/{conversation}/reply", json={"text": "Hello"})
        assert reply.status_code == 200

        def received() -> list[str]:
            answer = get_json(f"{base}/emulators/viber/_emulator/sent")
            assert isinstance(answer, list)
            return [m["body"].get("text") for m in answer]

        poll(lambda: received() == ["Hello"])
        admin = {"Authorization": "Bearer demo-admin-token-0123456789"}
        page = httpx.get(f"{base}/admin", headers=admin)
        assert page.status_code == 200 and 'id="mode">DEMO<' in page.text
        assert httpx.get(f"{base}/metrics").status_code == 401  # the admin token guards them
        metrics = httpx.get(f"{base}/metrics", headers=admin).text
        assert 'byoc_info{mode="demo"} 1' in metrics
        assert 'byoc_messages_out_total{channel="viber"} 1' in metrics
    finally:
        assert process.stop(signal.SIGTERM) == 0, process.output
    assert " DEMO INFO byoc.hops: hop=channel.sent" in process.output


def test_serve_explains_a_missing_setting_and_exits_1(tmp_path: Path) -> None:
    process = Running(
        "serve",
        "--port",
        "0",
        env=clean_env(BYOC_FRESHCHAT_API_TOKEN="tok-0123456789", BYOC_CHANNELS="viber"),
    )
    code = process.process.wait(timeout=30)
    process.stop()
    assert code == 1
    assert "BYOC_VIBER_AUTH_TOKEN is not set" in process.output
    assert "tok-0123456789" not in process.output


@pytest.mark.parametrize("access_log", [False, True], ids=["default", "--access-log"])
def test_uvicorn_runs_on_uvloop_and_httptools_and_logs_requests_only_when_asked(
    freshchat: Freshchat, tmp_path: Path, access_log: bool
) -> None:
    env = viber_bridge(freshchat, tmp_path)
    bridge, base = serve(env, *(["--access-log"] if access_log else []))
    try:
        bridge.wait_for(r"HTTP server: uvicorn on uvloop with httptools$")
        body, headers = viber_message("ana", "ana: hello", 1)
        answer = httpx.post(f"{base}/channels/viber/webhook", content=body, headers=headers)
        assert answer.status_code == 200, answer.text
        poll(lambda: freshchat.texts_by_user().get("ana") == ["ana: hello"])
    finally:
        assert bridge.stop(signal.SIGTERM) == 0, bridge.output
    assert "hop=channel.webhook" in bridge.output
    access_line = '"POST /channels/viber/webhook HTTP/1.1" 200' in bridge.output
    assert access_line is access_log
