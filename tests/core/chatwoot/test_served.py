"""Viber ↔ Chatwoot through `byoc serve`, everything a real process on a real port.

`byoc emulate chatwoot` and `byoc emulate viber` play the two services; `byoc check`, `byoc serve`
and `byoc install` run as an operator runs them, configured by `BYOC_MESSAGING=chatwoot` and the
settings the Chatwoot emulator prints.
"""

from __future__ import annotations

import re
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..cli.emulators import ViberServer
from ..cli.support import (
    PATIENT,
    Running,
    clean_env,
    ensure_declared_entry_points,
    free_port,
    get_json,
    poll,
    run_byoc,
)

SETTINGS = (
    "BYOC_CHATWOOT_URL",
    "BYOC_CHATWOOT_ACCOUNT_ID",
    "BYOC_CHATWOOT_INBOX_ID",
    "BYOC_CHATWOOT_API_TOKEN",
    "BYOC_CHATWOOT_HMAC_TOKEN",
)


class ChatwootServer:
    """`byoc emulate chatwoot` on a free port, its inbox's webhooks going to `webhook_url`."""

    def __init__(self, webhook_url: str) -> None:
        self.process = Running(
            "emulate",
            "chatwoot",
            "--port",
            "0",
            "--webhook-url",
            webhook_url,
            "--log-level",
            "warning",
        )
        self.settings = {
            name: self.process.wait_for(rf"{name}=(\S+)").group(1) for name in SETTINGS
        }
        self.base = self.settings["BYOC_CHATWOOT_URL"]

    def get(self, path: str) -> Any:
        return get_json(f"{self.base}/_emulator{path}")

    def post(self, path: str, body: dict[str, Any]) -> Any:
        answer = httpx.post(f"{self.base}/_emulator{path}", json=body, timeout=10.0)
        answer.raise_for_status()
        return answer.json()

    def stop(self) -> None:
        self.process.stop()


@pytest.fixture(scope="module", autouse=True)
def declared_entry_points(tmp_path_factory: pytest.TempPathFactory) -> None:
    ensure_declared_entry_points(tmp_path_factory.mktemp("entry-points"))


def _findings(output: str) -> dict[str, tuple[str, str]]:
    """`byoc check`'s lines: subject → (mark, message)."""
    lines = (re.match(r"^\[(\w+) *\] (.+?)  +(.*)$", line) for line in output.splitlines())
    return {m.group(2): (m.group(1), m.group(3)) for m in lines if m}


def test_a_viber_user_and_a_chatwoot_agent_talk_through_byoc_serve(tmp_path: Path) -> None:
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    viber = ViberServer()
    chatwoot = ChatwootServer(f"{public}/messaging/webhook")
    env = clean_env(
        BYOC_MESSAGING="chatwoot",
        **chatwoot.settings,
        BYOC_VIBER_AUTH_TOKEN=viber.token,
        BYOC_VIBER_SENDER_NAME="Acme Support",
        BYOC_VIBER_API_URL=viber.api_url,
        BYOC_PUBLIC_URL=public,
        BYOC_STORE=str(tmp_path / "byoc.sqlite3"),
    )
    serve = Running("serve", "--port", str(port), env=env)
    try:
        serve.wait_for(r"byoc serving on")
        assert "Chatwoot webhook URL to paste" in serve.wait_for(r"webhook URL to paste").string
        checked = run_byoc("check", *PATIENT, env=env)
        assert checked.returncode == 0, checked.stdout
        found = _findings(checked.stdout)
        mark, said = found["chatwoot"]
        assert mark == "ok" and "API inbox work (inbox 'byoc'" in said
        assert found["chatwoot webhooks"] == (
            "ok",
            f"Chatwoot sends them to {public}/messaging/webhook",
        )
        installed = run_byoc("install", "viber", env=env)
        assert installed.returncode == 0, installed.stdout + installed.stderr

        user = httpx.post(f"{viber.base}/_emulator/users", json={"name": "Ana"}).json()
        sent = httpx.post(
            f"{viber.base}/_emulator/send",
            json={"user_id": user["id"], "message": {"type": "text", "text": "Olá, pedido 42?"}},
        )
        assert sent.status_code == 200
        poll(lambda: chatwoot.get("/conversations")["conversations"], timeout=60.0)
        [conversation] = chatwoot.get("/conversations")["conversations"]
        messages = chatwoot.get(f"/conversations/{conversation['id']}/messages")["messages"]
        assert [(m["content"], m["message_type"]) for m in messages] == [("Olá, pedido 42?", 0)]
        [contact] = chatwoot.get("/contacts")["contacts"]
        assert contact["identifier"] == f"viber:{user['id']}"

        chatwoot.post(f"/conversations/{conversation['id']}/note", {"text": "check stock"})
        chatwoot.post(f"/conversations/{conversation['id']}/reply", {"text": "Chega amanhã!"})

        def texts() -> list[str]:
            # Viber ids hold "+" and "/": the query is encoded.
            found = get_json(f"{viber.base}/_emulator/sent", params={"user_id": user["id"]})
            assert isinstance(found, list)
            return [m["body"].get("text") for m in found if not m["welcome"]]

        poll(lambda: texts() == ["Chega amanhã!"], timeout=60.0)
        chatwoot.post("/drain", {})  # every webhook answered: the note was heard, and dropped
        assert texts() == ["Chega amanhã!"]
    finally:
        serve.stop(signal.SIGTERM)
        chatwoot.stop()
        viber.stop()
    # The user's own message came back as a webhook, and the note: both heard, both dropped.
    heard = [line for line in serve.lines if "hop=helpdesk.webhook" in line]
    assert [("actor=user" in x, "outcome=ignored" in x) for x in heard] == [
        (True, True),
        (False, True),
        (False, False),
    ]


@pytest.mark.parametrize(
    ("args", "env"),
    [(["--helpdesk", "chatwoot"], {}), ([], {"BYOC_MESSAGING": "chatwoot"})],
)
def test_byoc_demo_plays_a_chatwoot_agent(args: list[str], env: dict[str, str]) -> None:
    result = run_byoc("demo", *args, env=clean_env(**env))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "a Chatwoot agent answers" in result.stdout
    assert "(2 Chatwoot API calls for a new user; each next message costs one)" in result.stdout
    assert "Same conversation, 1 Chatwoot API call." in result.stdout
