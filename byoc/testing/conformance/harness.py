"""`ConformanceHarness`: how the kit plays a channel's messenger. A plugin author writes one.

Three methods are required: `message` (the webhook the messenger sends when a user writes),
`sign` (the messenger's signature, valid, missing or forged), and `received` (what a user got,
as the emulator recorded it). The others have defaults a messenger can override: a media
message, blocking a user, the shape of a 429.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Literal

import attrs
import httpx

from ...channel import Channel
from ...webhook import WebhookRequest
from .world import ConformanceWorld

__all__ = ["ConformanceHarness", "Signing"]

Signing = Literal["valid", "missing", "forged"]


class ConformanceHarness(ABC):
    """The channel under test, and its messenger's side of the conversation.

    Set in `__init__(world)`: `channel`, built to call its emulator through `http=world.http`
    and named `world.name` (`.named(world.name)`); the emulator on `world.network`, posting
    webhooks to `world.webhook_url`. `recipient` is a user the channel may send to, and
    `secrets` the channel's credentials: the kit checks none shows in events or errors.
    """

    channel: Channel
    recipient: str = "kit-user"
    secrets: Sequence[str] = ()

    def __init__(self, world: ConformanceWorld) -> None:
        self.world = world

    @abstractmethod
    def message(self, user_id: str, text: str) -> WebhookRequest:
        """The webhook the messenger sends when `user_id` writes `text`, signed; each call is a
        new message (a new id), and a retry of the webhook is the same request again."""

    @abstractmethod
    def sign(self, request: WebhookRequest, how: Signing = "valid") -> WebhookRequest:
        """`request` with its body signed as the messenger signs it (`valid`), with no
        signature or secret at all (`missing`), or with a wrong one (`forged`)."""

    @abstractmethod
    async def received(self, user_id: str) -> list[str]:
        """What `user_id` has received so far, oldest first: one entry per message the
        messenger shows, as its text (a caption, or the URL of a media message).

        Wait here for what the emulator does in the background, not in the kit."""

    def media_message(self, user_id: str) -> tuple[WebhookRequest, bytes] | None:
        """A signed webhook of `user_id` sending one picture or file, and its bytes; None
        when the messenger has no media (the media checks are then skipped)."""
        return None

    async def block(self, user_id: str) -> bool:
        """Make the messenger refuse messages to `user_id` (they blocked the account or
        unsubscribed); False when the emulator cannot (the check is then skipped)."""
        return False

    def throttled(self, retry_after: str) -> httpx.Response:
        """The messenger's answer when it throttles, telling to wait `retry_after` (seconds, or
        an HTTP date). Default: HTTP 429 with that `Retry-After` header."""
        return httpx.Response(429, headers={"Retry-After": retry_after}, json={"ok": False})

    def with_text_bytes(self, request: WebhookRequest, old: bytes, new: bytes) -> WebhookRequest:
        """`request` with `old` replaced by `new` in its body, signed again. The kit uses it to
        put a JSON escape the harness cannot produce (half an emoji) into a message's text;
        override it for a messenger whose body is not JSON."""
        assert old in request.body, "the message's text must appear in its body"
        return self.sign(attrs.evolve(request, body=request.body.replace(old, new)))

    async def aclose(self) -> None:
        """Release what the harness made (the kit closes the channel and the world)."""
