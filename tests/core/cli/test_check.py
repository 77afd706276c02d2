"""`byoc check` against the emulators on real ports: each failure says what to fix; exit 1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .emulators import FreshchatServer, ViberServer
from .support import clean_env, free_port, run_byoc


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
    result = run_byoc("check", env=env, cwd=tmp_path)
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
    result = run_byoc("check", env=env)
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
    result = run_byoc("check", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "Check BYOC_VIBER_AUTH_TOKEN" in line(result.stdout, "FAIL", "viber")
    assert "not-the-token-0123456789" not in result.stdout


def test_an_unreachable_freshchat_is_explained(tmp_path: Path) -> None:
    env = clean_env(
        BYOC_FRESHCHAT_API_URL=f"http://127.0.0.1:{free_port()}/v2",
        BYOC_FRESHCHAT_API_TOKEN="token-0123456789",
        BYOC_FRESHCHAT_VERIFY_SIGNATURES="false",
    )
    result = run_byoc("check", env=env, cwd=tmp_path)
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
