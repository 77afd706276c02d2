"""The path of one message through the bridge's own code, each way, as a list of hops.

One Viber user message (webhook → Freshchat POST) and one agent reply (Freshchat webhook →
Viber send) run through the bridge on the bundled emulators; a profiler hook records every call
into a production module of byoc (`byoc*`, without `testing` and the emulators). For each
direction it prints the distinct functions called (the hops), the modules they live in, and how
many times the path entered `byoc/bridge.py` from outside it.

    python benchmarks/message_path.py            # counts
    python benchmarks/message_path.py --list     # and every hop, in call order

The first message of a user (lookups, user creation) is sent before tracing starts: the traced
messages are the steady state, one upstream call each way.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import types
from collections.abc import Callable
from typing import Any

from byoc.store import MemoryStore
from byoc.testing.clock import FakeClock
from byoc.testing.rig import BridgeRig
from byoc_viber import ViberChannel
from byoc_viber.testing import ViberEmulator

_PACKAGES = ("byoc", "byoc_viber", "byoc_kakao", "byoc_telegram")
# Test doubles and plumbing that is not the bridge's code path.
_SKIPPED = ("testing", "demo")
# The modules that carry a message between the HTTP edge and the two peers' code (channel
# plugins, the Freshchat client and mappers are the same whatever the core's shape).
_CORE = frozenset(
    {
        "byoc.asgi",
        "byoc.bridge",
        "byoc.codec",
        "byoc.delivery",
        "byoc.delivery_modes",
        "byoc.http",
        "byoc.sync",
        "byoc.webhook",
    }
)
_IGNORED_FUNCTIONS = ("<genexpr>", "<listcomp>", "<dictcomp>", "<setcomp>", "<lambda>")


def _production_module(code: types.CodeType) -> str | None:
    path = code.co_filename.replace("\\", "/")
    for package in _PACKAGES:
        marker = f"/{package}/"
        if marker not in path:
            continue
        module = path.rsplit(marker, 1)[1].removesuffix(".py").replace("/", ".")
        if any(part in _SKIPPED for part in module.split(".")):
            return None
        return f"{package}.{module}".removesuffix(".__init__")
    return None


class PathRecorder:
    """Records calls into production modules while active."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.bridge_entries = 0
        self._active = False

    def _hook(self, frame: types.FrameType, event: str, arg: Any) -> None:
        if event != "call":
            return
        code = frame.f_code
        module = _production_module(code)
        if module is None or code.co_name in _IGNORED_FUNCTIONS or _under_harness(frame):
            return
        self.calls.append((module, code.co_qualname))
        if module == "byoc.bridge":
            caller = frame.f_back
            # A coroutine resumed by the event loop has no Python caller: an entry too.
            came_from = _production_module(caller.f_code) if caller is not None else None
            if came_from != "byoc.bridge":
                self.bridge_entries += 1

    def start(self) -> None:
        self.calls.clear()
        self.bridge_entries = 0
        sys.setprofile(self._hook)
        for task_hooks in _thread_hooks():
            task_hooks(self._hook)

    def stop(self) -> None:
        sys.setprofile(None)
        for task_hooks in _thread_hooks():
            task_hooks(None)

    def hops(self) -> list[tuple[str, str]]:
        """Distinct functions, in the order first called."""
        seen: dict[tuple[str, str], None] = {}
        for call in self.calls:
            seen.setdefault(call, None)
        return list(seen)


def _under_harness(frame: types.FrameType) -> bool:
    """Called by the test rig waiting for the bridge to settle: not the message's path."""
    caller = frame.f_back
    while caller is not None:
        if caller.f_code.co_name == "settle" and "testing" in caller.f_code.co_filename:
            return True
        caller = caller.f_back
    return False


def _thread_hooks() -> list[Callable[[Any], None]]:
    # Only the event loop's thread runs the path (the SQLite worker is not used here).
    return []


async def _trace(list_hops: bool) -> None:
    # One clock for all: the channel dates the emulator's callbacks against it.
    clock = FakeClock(autoadvance=True)
    async with BridgeRig(clock=clock) as rig:
        viber = ViberEmulator(
            callback_client=rig.client(),
            public_url="http://viber.test",
            clock=clock,
            # Delivery receipts are events of their own, not part of the reply's path.
            send_delivered=False,
            send_seen=False,
        )
        rig.add_emulator("viber.test", viber)
        channel = ViberChannel(
            auth_token=viber.token,
            sender_name="Support",
            api_url=viber.api_url,
            http=rig.client(),
            clock=clock,
        )
        rig.attach([channel], store=MemoryStore(), clock=clock)
        await rig.bridge.install(["viber"])
        user = viber.user(name="Ana")
        await user.send_text("first message: creates the user and the conversation")
        await rig.settle()
        (helpdesk_user,) = rig.freshchat.users_by_reference(f"viber:{user.id}")
        (conversation,) = rig.freshchat.conversations_of(str(helpdesk_user["id"]))
        conversation_id = str(conversation["conversation_id"])
        await rig.freshchat.agent_reply(conversation_id, "first reply")
        await rig.settle()

        recorder = PathRecorder()
        # Freshchat echoes the user's message back as a webhook: an event of its own.
        webhook_url = rig.freshchat.webhook_url
        rig.freshchat.webhook_url = None
        recorder.start()
        await user.send_text("hello")
        await rig.settle()
        recorder.stop()
        rig.freshchat.webhook_url = webhook_url
        _report("inbound (Viber webhook → Freshchat POST)", recorder, list_hops)

        recorder.start()
        await rig.freshchat.agent_reply(conversation_id, "hi, how can I help?")
        await rig.settle()
        recorder.stop()
        _report("reply (Freshchat webhook → Viber send)", recorder, list_hops)


def _report(title: str, recorder: PathRecorder, list_hops: bool) -> None:
    hops = recorder.hops()
    modules = sorted({module for module, _ in hops})
    print(f"{title}:")
    core = [hop for hop in hops if hop[0] in _CORE]
    print(f"  {len(hops)} hops (distinct functions) over {len(modules)} modules")
    print(
        f"  of which the core's delivery path ({', '.join(sorted(_CORE))}): "
        f"{len(core)} hops over {len({module for module, _ in core})} modules"
    )
    print(f"  entries into byoc/bridge.py: {recorder.bridge_entries}")
    print(f"  modules: {', '.join(modules)}")
    if list_hops:
        for module, function in hops:
            print(f"    {module}.{function}")
    print()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="print every hop")
    args = parser.parse_args(argv)
    asyncio.run(_trace(args.list))


if __name__ == "__main__":
    main()
