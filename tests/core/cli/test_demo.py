"""`byoc demo`, run as a newcomer runs it: a subprocess, scripted or fed from a pipe."""

from __future__ import annotations

import io

import pytest

from byoc.demo import DemoWorld, FakeDemo, choose_kits
from byoc.demo.script import REPLY, round_trip
from byoc.errors import PluginError

from .support import run_byoc


def test_byoc_demo_prints_the_round_trip_and_exits_0() -> None:
    result = run_byoc("demo")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    steps = [
        "1. Viber user Alice writes:",
        "2. Freshchat shows it in conversation",
        "help-desk user viber:",
        "3. The agent replies in Freshchat:",
        "4. Alice receives it on Viber:",
        "Same conversation, 1 Freshchat API call.",
        "Round trip done",
    ]
    positions = [out.index(step) for step in steps]
    assert positions == sorted(positions)
    assert out.count(REPLY) == 2
    # Quiet by default: the narration, not the bridge's log.
    assert "hop=" not in result.stderr and "httpx" not in result.stderr


def test_byoc_demo_with_the_fake_messenger() -> None:
    result = run_byoc("demo", "--channel", "fake")
    assert result.returncode == 0, result.stderr
    assert "help-desk user fake:Alice" in result.stdout
    assert "Alice receives it on the fake messenger" in result.stdout


def test_interactive_demo_reads_user_and_agent_lines_from_a_pipe() -> None:
    # No "quit": the end of the input ends the demo, as piping a file does.
    lines = "agent: too early\nuser: 안녕하세요\nnonsense\nagent: Hello! How can I help?\n"
    result = run_byoc("demo", "--interactive", stdin=lines)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "no conversation yet" in out
    assert "shows  Alice: 안녕하세요" in out
    assert 'Type "user: <text>"' in out
    assert "Alice receives on Viber:  Hello! How can I help?" in out


def test_kits_default_to_viber_and_fall_back_to_the_fake_messenger() -> None:
    assert [k.__name__ for k in choose_kits()] == ["ViberDemo"]
    assert choose_kits(["fake"]) == [FakeDemo]
    with pytest.raises(PluginError, match="'nope': has no demo kit installed"):
        choose_kits(["nope"])


async def test_the_round_trip_in_process_with_every_kit() -> None:
    world = DemoWorld(choose_kits(every=True))
    try:
        await world.start()
        for kit in world.kits:
            await round_trip(world, kit, io.StringIO())
            assert kit.received("Alice")[-1] == REPLY
    finally:
        await world.aclose()
