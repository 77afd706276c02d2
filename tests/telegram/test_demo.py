"""`byoc demo --channel telegram` shows a round trip, and `byoc emulate telegram` says how to
use it: both as a newcomer runs them, in a subprocess."""

from __future__ import annotations

from byoc.demo.script import REPLY
from tests.core.cli.support import run_byoc


def test_byoc_demo_with_telegram_prints_the_round_trip() -> None:
    result = run_byoc("demo", "--channel", "telegram")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    steps = [
        "1. Telegram user Alice writes:",
        "2. Freshchat shows it in conversation",
        "help-desk user telegram:",
        "3. The agent replies in Freshchat:",
        "4. Alice receives it on Telegram:",
        "Round trip done",
    ]
    positions = [out.index(step) for step in steps]
    assert positions == sorted(positions)
    assert out.count(REPLY) == 2


def test_byoc_emulate_telegram_lists_its_options() -> None:
    result = run_byoc("emulate", "telegram", "--help")
    assert result.returncode == 0, result.stderr
    for option in ("--port", "--token", "--webhook-url", "--secret-token"):
        assert option in result.stdout
