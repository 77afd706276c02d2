"""What `byoc demo` prints: a scripted round trip, or a person typing as the user and the agent.

Each step is printed before it is awaited, so the output reads as it happens:

```
1. Viber user Alice writes:          Hi! Where is my order #1234?
2. Freshchat shows it in conversation 8a1f... (help-desk user viber:Jc9H...):
       Alice: Hi! Where is my order #1234?
3. The agent replies in Freshchat:    It left the warehouse this morning.
4. Alice receives it on Viber:        It left the warehouse this morning.
```
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TextIO

from .kit import DemoKit
from .world import DemoWorld

__all__ = ["DemoFailed", "channel_title", "interactive", "round_trip"]

USER = "Alice"
FIRST = "Hi! Where is my order #1234? 📦"
REPLY = "Hello Alice, it left our warehouse this morning and arrives tomorrow. 🚚"
THANKS = "Great, thank you!"

_HELP = (
    'Type "user: <text>" to write as {user} (a {label}), "agent: <text>" to answer as the '
    '{desk} agent, "quit" to leave.'
)


class DemoFailed(Exception):
    """A step of the demo did not happen (the message says which)."""


def channel_title(kit: DemoKit) -> str:
    """How the demo names the kit's messenger in a sentence ("Viber")."""
    return kit.title or kit.name


async def round_trip(world: DemoWorld, kit: DemoKit, out: TextIO) -> float:
    """Run the scripted round trip, printing each step; the seconds it took."""

    def say(line: str) -> None:
        print(line, file=out, flush=True)

    desk = world.helpdesk
    steps = {
        "wrote": f"1. {kit.user_label} {USER} writes:",
        "reply": f"3. The agent replies in {desk.title}:",
        "got": f"4. {USER} receives it on {channel_title(kit)}:",
        "again": f"5. {USER} writes again:",
    }
    width = max(len(step) for step in steps.values()) + 2

    def step(name: str, text: str) -> None:
        say(f"{steps[name]:<{width}}{text}")

    started = time.perf_counter()
    step("wrote", FIRST)
    await kit.user_says(USER, FIRST)
    await world.settle()
    conversation = world.conversation_of(kit, USER)
    if conversation is None or FIRST not in world.texts(conversation):
        raise DemoFailed(f"the message did not reach the {desk.title} emulator")
    reference = world.bridge.sync.reference_ids.make(kit.name, kit.user_id(USER))
    say(f"2. {desk.title} shows it in conversation {conversation} (help-desk user {reference}):")
    say(f"       {USER}: {FIRST}")
    calls = desk.total_calls()
    say(f"       ({calls} {desk.title} API calls for a new user; each next message costs one)")

    step("reply", REPLY)
    before = len(kit.received(USER))
    await desk.agent_reply(conversation, REPLY)
    await world.settle()
    got = kit.received(USER)[before:]
    if REPLY not in got:
        raise DemoFailed(f"{USER} did not receive the agent's reply on {channel_title(kit)}")
    step("got", REPLY)

    desk.reset_calls()
    step("again", THANKS)
    await _say(world, kit, THANKS)
    if world.texts(conversation)[-1:] != [THANKS]:
        raise DemoFailed("the second message did not reach the same conversation")
    calls = desk.total_calls()
    say(f"   Same conversation, {calls} {desk.title} API call{'s' if calls != 1 else ''}.")
    return time.perf_counter() - started


async def _say(world: DemoWorld, kit: DemoKit, text: str) -> None:
    await kit.user_says(USER, text)
    await world.settle()


async def interactive(
    world: DemoWorld,
    kit: DemoKit,
    read_line: Callable[[], str],
    out: TextIO,
    *,
    prompt: bool,
) -> int:
    """Read `user: ...` / `agent: ...` lines until `quit` or the end of input; the exit code."""

    def say(line: str) -> None:
        print(line, file=out, flush=True)

    desk = world.helpdesk
    say(_HELP.format(user=USER, label=kit.user_label, desk=desk.title))
    while True:
        if prompt:
            print("> ", end="", file=out, flush=True)
        line = await asyncio.to_thread(read_line)
        if not line:
            return 0
        who, sep, text = line.strip().partition(":")
        who, text = who.strip().lower(), text.strip()
        if who in ("quit", "exit", "q"):
            return 0
        if not who:
            continue
        if not sep or not text or who not in ("user", "u", "agent", "a"):
            say("  " + _HELP.format(user=USER, label=kit.user_label, desk=desk.title))
            continue
        if who in ("user", "u"):
            await _say(world, kit, text)
            conversation = world.conversation_of(kit, USER)
            if conversation is None:
                say(f"  the message did not reach {desk.title} (see the log above)")
                continue
            say(f"  {desk.title} conversation {conversation} shows  {USER}: {text}")
            continue
        conversation = world.conversation_of(kit, USER)
        if conversation is None:
            say(f"  no conversation yet: write as the user first (user: {FIRST})")
            continue
        before = len(kit.received(USER))
        await desk.agent_reply(conversation, text)
        await world.settle()
        for received in kit.received(USER)[before:]:
            say(f"  {USER} receives on {channel_title(kit)}:  {received}")
