"""`byoc check` against the emulators on real ports: each failure says what to fix; exit 1."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from byoc.checks import Finding, run_checks
from byoc.settings import load_settings

from .emulators import FreshchatServer, ViberServer
from .support import PATIENT, Running, clean_env, free_port, run_byoc


@pytest.fixture(scope="module")
def freshchat() -> Iterator[FreshchatServer]:
    server = FreshchatServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def viber() -> Iterator[ViberServer]:
    server = ViberServer()
    yield server
    server.stop()


def line(output: str, mark: str, subject: str) -> str:
    found = [x for x in output.splitlines() if x.startswith(f"[{mark}") and f"] {subject}" in x]
    assert found, f"no [{mark}] {subject} line in:\n{output}"
    return found[0]


def test_a_wrong_freshchat_token_says_how_to_fix_it_and_exits_1(
    freshchat: FreshchatServer, tmp_path: Path
) -> None:
    env = freshchat.settings(BYOC_FRESHCHAT_API_TOKEN="wrong-token-0123456789")
    result = run_byoc("check", *PATIENT, env=env, cwd=tmp_path)
    assert result.returncode == 1
    failed = line(result.stdout, "FAIL", "freshchat")
    assert "BYOC_FRESHCHAT_API_TOKEN" in failed and "API Tokens" in failed
    assert "wrong-token-0123456789" not in result.stdout + result.stderr
    assert "the lines marked FAIL say how" in result.stdout


def test_everything_configured_passes_with_warnings(
    freshchat: FreshchatServer, viber: ViberServer, tmp_path: Path
) -> None:
    env = freshchat.settings(
        BYOC_VIBER_AUTH_TOKEN=viber.token,
        BYOC_VIBER_SENDER_NAME="Acme",
        BYOC_VIBER_API_URL=viber.api_url,
        BYOC_STORE=f"sqlite:///{tmp_path}/check.sqlite3",
    )
    result = run_byoc("check", *PATIENT, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "API URL and token work" in line(result.stdout, "ok", "freshchat")
    assert "credentials work (account 'byoc emulator')" in line(result.stdout, "warn", "viber")
    assert "byoc install viber" in line(result.stdout, "warn", "viber")
    assert "BYOC_PUBLIC_URL is not set" in line(result.stdout, "warn", "public url")
    assert "not enabled" in line(result.stdout, "--", "kakao")
    assert "all checks passed" in result.stdout


def test_a_wrong_viber_token_fails(
    freshchat: FreshchatServer, viber: ViberServer, tmp_path: Path
) -> None:
    env = freshchat.settings(
        BYOC_CHANNELS="viber",
        BYOC_VIBER_AUTH_TOKEN="not-the-token-0123456789",
        BYOC_VIBER_SENDER_NAME="Acme",
        BYOC_VIBER_API_URL=viber.api_url,
    )
    result = run_byoc("check", *PATIENT, env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "Check BYOC_VIBER_AUTH_TOKEN" in line(result.stdout, "FAIL", "viber")
    assert "not-the-token-0123456789" not in result.stdout


def test_an_unreachable_freshchat_is_explained(tmp_path: Path) -> None:
    env = clean_env(
        BYOC_FRESHCHAT_API_URL=f"http://127.0.0.1:{free_port()}/v2",
        BYOC_FRESHCHAT_API_TOKEN="token-0123456789",
        BYOC_FRESHCHAT_VERIFY_SIGNATURES="false",
    )
    result = run_byoc("check", *PATIENT, env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "cannot reach Freshchat" in line(result.stdout, "FAIL", "freshchat")


def test_no_credentials_at_all_is_a_failure_that_mentions_the_demo() -> None:
    result = run_byoc("check", env=clean_env())
    assert result.returncode == 1
    failed = line(result.stdout, "FAIL", "freshchat")
    assert "BYOC_FRESHCHAT_API_URL" in failed and "demo" in failed


def test_a_bad_setting_stops_before_any_call() -> None:
    result = run_byoc("check", env=clean_env(BYOC_DELIVERY="sometimes"))
    assert result.returncode == 1
    assert "BYOC_DELIVERY must be durable or inline" in result.stderr


# -- all at once, each within its timeout, each line as it ends --------------------------------


class Silent:
    """A server that takes connections and never answers: a hung service."""

    def __init__(self) -> None:
        self.connected = asyncio.Event()
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._hold, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def _hold(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        self.connected.set()

    async def aclose(self) -> None:
        for writer in self._writers:
            writer.close()
        self.server.close()
        await self.server.wait_closed()


async def test_hung_services_cost_one_timeout_together_not_one_each(tmp_path: Path) -> None:
    freshchat, viber = Silent(), Silent()
    settings = load_settings(
        {
            "BYOC_FRESHCHAT_API_URL": f"{await freshchat.start()}/v2",
            "BYOC_FRESHCHAT_API_TOKEN": "token-0123456789",
            "BYOC_FRESHCHAT_VERIFY_SIGNATURES": "false",
            "BYOC_CHANNELS": "viber",
            "BYOC_VIBER_AUTH_TOKEN": "viber-token-0123456789",
            "BYOC_VIBER_SENDER_NAME": "Acme",
            "BYOC_VIBER_API_URL": f"{await viber.start()}/pa",
            "BYOC_STORE": str(tmp_path / "byoc.sqlite3"),
        }
    )
    reported: list[tuple[str, bool]] = []

    def report(finding: Finding) -> None:
        # Whether both services had been called when this check ended.
        both = freshchat.connected.is_set() and viber.connected.is_set()
        reported.append((finding.subject, both))

    try:
        findings = await run_checks(settings, timeout=2.0, report=report)
    finally:
        await freshchat.aclose()
        await viber.aclose()

    assert [f.subject for f in findings] == [
        "freshchat",
        "viber",
        "public url",
        "store",
        "admin page",
    ]
    assert dict(reported)["freshchat"] and dict(reported)["viber"]
    # The quick checks were reported before the hung ones.
    assert [subject for subject, _ in reported][-2:] in (
        ["freshchat", "viber"],
        ["viber", "freshchat"],
    )
    hung = {f.subject: f for f in findings[:2]}
    assert hung["freshchat"].status == hung["viber"].status == "fail"
    assert hung["freshchat"].message.startswith("no answer within 2 s: Freshchat at http://")
    assert "BYOC_FRESHCHAT_API_URL" in hung["freshchat"].message
    assert "the viber API did not answer in time" in hung["viber"].message


def test_each_line_is_printed_as_its_check_ends(tmp_path: Path) -> None:
    # A Viber API that never answers: the other lines come out while it is awaited.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        env = clean_env(
            BYOC_FRESHCHAT_API_URL=f"http://127.0.0.1:{free_port()}/v2",
            BYOC_FRESHCHAT_API_TOKEN="token-0123456789",
            BYOC_FRESHCHAT_VERIFY_SIGNATURES="false",
            BYOC_CHANNELS="viber",
            BYOC_VIBER_AUTH_TOKEN="viber-token-0123456789",
            BYOC_VIBER_SENDER_NAME="Acme",
            BYOC_VIBER_API_URL=f"http://127.0.0.1:{port}/pa",
            BYOC_STORE=str(tmp_path / "byoc.sqlite3"),
        )
        process = Running("check", "--timeout", "8", env=env, cwd=tmp_path)
        process.wait_for(r"^checking freshchat, channels, viber, public url, store, admin page")
        process.wait_for(r"^\[FAIL\] freshchat +cannot reach Freshchat")
        process.wait_for(r"^\[warn\] admin page")
        assert process.process.poll() is None  # still waiting for Viber
        process.wait_for(r"^\[FAIL\] viber +no answer within 8 s", timeout=60)
        process.wait_for(r"2 problem\(s\) to fix")
        assert process.process.wait(timeout=30) == 1


def test_a_timeout_must_be_a_positive_number() -> None:
    result = run_byoc("check", "--timeout", "0", env=clean_env())
    assert result.returncode == 2 and "above 0" in result.stderr
