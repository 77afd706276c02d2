"""What the emulator's API routes and control routes need of the emulator that serves them.

`FreshchatEmulator` builds its app from `app.build_app` and `control.register_control`, which
take any `EmulatorHost`: the routes depend on this narrow view, not on the emulator's module,
so the import graph stays one-way (emulator → app → control → host).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Protocol

from .desk import Desk
from .events import PayloadMode
from .faults import Faults
from .state import State, Upload
from .webhooks import WebhookSender

__all__ = ["EmulatorHost"]


class EmulatorHost(Protocol):
    """The emulator's state, its agent actions and its webhook settings."""

    token: str
    control_token: str | None
    payload: PayloadMode
    state: State
    desk: Desk
    faults: Faults
    calls: Counter[tuple[str, str]]
    webhooks: WebhookSender

    @property
    def webhook_url(self) -> str | None: ...

    @webhook_url.setter
    def webhook_url(self, url: str | None) -> None: ...

    @property
    def public_key_text(self) -> str: ...

    @property
    def public_key_pem(self) -> str: ...

    def file_url(self, upload: Upload) -> str: ...

    async def drain(self) -> None: ...

    def total_calls(self) -> int: ...

    def reset_calls(self) -> None: ...

    def conversation_messages(self, conversation_id: str) -> list[dict[str, Any]]: ...

    async def agent_reply(
        self,
        conversation_id: str,
        text: str | None = None,
        *,
        parts: list[dict[str, Any]] | None = None,
        reply_parts: list[dict[str, Any]] | None = None,
        agent_id: str | None = None,
    ) -> dict[str, Any]: ...

    async def private_note(
        self, conversation_id: str, text: str, *, agent_id: str | None = None
    ) -> dict[str, Any]: ...

    async def resolve(
        self, conversation_id: str, *, agent_id: str | None = None
    ) -> dict[str, Any]: ...

    async def reopen(
        self, conversation_id: str, *, agent_id: str | None = None
    ) -> dict[str, Any]: ...

    async def assign(
        self,
        conversation_id: str,
        *,
        agent_id: str | None = None,
        group_id: str | None = None,
        by_agent_id: str | None = None,
    ) -> dict[str, Any]: ...
