"""What the emulator's API routes and control routes need of the emulator that serves them.

`ChatwootEmulator` builds its app from `app.build_app` and `control.register_control`, which
take any `EmulatorHost`: the routes depend on this narrow view, not on the emulator's module,
so the import graph stays one-way (emulator → app → control → host).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from .desk import Desk
from .faults import Faults
from .forms import FormFile
from .limits import Limits
from .state import Inbox, State
from .webhooks import SigningMode, WebhookSender

__all__ = ["EmulatorHost"]


class EmulatorHost(Protocol):
    """The emulator's state, its agent actions, its limits and its webhook settings."""

    token: str
    control_token: str | None
    public_url: str
    state: State
    desk: Desk
    faults: Faults
    limits: Limits
    calls: Counter[tuple[str, str]]
    webhooks: WebhookSender

    @property
    def inbox(self) -> Inbox: ...

    @property
    def webhook_url(self) -> str | None: ...

    @webhook_url.setter
    def webhook_url(self, url: str | None) -> None: ...

    @property
    def signing(self) -> SigningMode: ...

    @signing.setter
    def signing(self, mode: SigningMode) -> None: ...

    def handling(self) -> AbstractAsyncContextManager[None]: ...

    def throttle(self, name: str, key: str) -> None: ...

    async def drain(self) -> None: ...

    def total_calls(self) -> int: ...

    def reset_calls(self) -> None: ...

    async def agent_reply(
        self,
        conversation_id: int,
        text: str | None = None,
        *,
        attachments: Sequence[FormFile] = (),
        content_type: str = "text",
        content_attributes: dict[str, Any] | None = None,
        agent_id: int | None = None,
        bot: bool = False,
    ) -> dict[str, Any]: ...

    async def private_note(
        self, conversation_id: int, text: str, *, agent_id: int | None = None
    ) -> dict[str, Any]: ...

    async def set_status(
        self, conversation_id: int, status: str, *, agent_id: int | None = None
    ) -> dict[str, Any]: ...

    async def delete_conversation(self, conversation_id: int) -> None: ...

    async def delete_contact(self, contact_id: int) -> None: ...

    def contacts(self, identifier: str | None = None) -> list[dict[str, Any]]: ...

    def conversations(self, contact_id: int | None = None) -> list[dict[str, Any]]: ...

    def conversation_messages(self, conversation_id: int) -> list[dict[str, Any]]: ...
