"""`FakeChannel`: a complete channel over in-memory delivery; the smallest example of the contract.

Its webhook body is `{"user_id", "message_id", "parts": [<encoded parts>], "profile"?}` (parts in
`byoc.codec` encoding), signed like many real channels: lowercase hex HMAC-SHA256 of the raw body
keyed by a shared secret, in `X-Fake-Signature`. Replies land in `outbox`.

```python
fake = FakeChannel(secret="s3cret")
body, headers = fake.user_message("alice", "hello")   # what the messenger would POST
await client.post("/channels/fake/webhook", content=body, headers=headers)
...
await fake.wait_for_replies("alice", 1)
```
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from .. import codec
from ..channel import Capabilities, Channel
from ..errors import MalformedPayload, RetryableError, SignatureError, UserUnreachable
from ..models import (
    Buttons,
    ChannelEvent,
    Contact,
    File,
    Image,
    InboundMessage,
    Link,
    Location,
    OutboundMessage,
    Part,
    Profile,
    QuickReplies,
    SendResult,
    Sticker,
    Text,
    Video,
)
from ..webhook import WebhookRequest, parse_json_object

__all__ = ["FakeChannel"]

_ALL_PARTS: frozenset[type[Part]] = frozenset(
    {Text, Image, Video, File, Location, Contact, Sticker, Link, Buttons, QuickReplies}
)


class FakeChannel(Channel):
    """A messenger that lives in memory. `fail_next` makes the next sends fail (retryably);
    a user in `refuse_users` blocked the account (`UserUnreachable`)."""

    name = "fake"
    capabilities = Capabilities(send=_ALL_PARTS)

    def __init__(self, *, secret: str = "fake-secret", name: str = "fake") -> None:
        self.name = name
        self.secret = secret
        self.outbox: dict[str, list[OutboundMessage]] = defaultdict(list)
        self.fail_next = 0
        self.refuse_users: set[str] = set()
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()

    # -- the contract ----------------------------------------------------------------------

    async def parse(self, request: WebhookRequest) -> Sequence[ChannelEvent]:
        expected = self.sign(request.body)
        given = request.header("x-fake-signature") or ""
        if not hmac.compare_digest(expected, given):
            raise SignatureError("X-Fake-Signature is missing or does not match the body")
        data = parse_json_object(request.body, what="fake channel webhook")
        user_id, message_id = data.get("user_id"), data.get("message_id")
        if not isinstance(user_id, str) or not user_id:
            raise MalformedPayload("fake channel webhook: user_id must be a non-empty string")
        if not isinstance(message_id, str) or not message_id:
            raise MalformedPayload("fake channel webhook: message_id must be a non-empty string")
        parts = codec.decode(data.get("parts", []))
        if not isinstance(parts, tuple) or not all(isinstance(p, tuple(_ALL_PARTS)) for p in parts):
            raise MalformedPayload("fake channel webhook: parts must be a list of encoded parts")
        profile = codec.decode(data["profile"]) if data.get("profile") is not None else None
        if profile is not None and not isinstance(profile, Profile):
            raise MalformedPayload("fake channel webhook: profile must be an encoded Profile")
        return [
            InboundMessage(
                channel=self.name,
                user_id=user_id,
                message_id=message_id,
                parts=parts,
                profile=profile,
            )
        ]

    async def send(self, user_id: str, message: OutboundMessage) -> SendResult:
        if self.fail_next > 0:
            self.fail_next -= 1
            raise RetryableError("fake channel: injected failure")
        if user_id in self.refuse_users:
            raise UserUnreachable(
                f"fake channel: user {user_id} blocked the account", user_id=user_id
            )
        async with self._changed:
            self.outbox[user_id].append(message)
            self._changed.notify_all()
        return SendResult(message_ids=(f"fake-{next(self._ids)}",))

    # -- what a test does as the messenger -------------------------------------------------

    def sign(self, body: bytes) -> str:
        return hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()

    def user_message(
        self,
        user_id: str,
        text_or_parts: str | Sequence[Part],
        *,
        message_id: str | None = None,
        profile: Profile | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """The signed webhook body and headers the messenger would send for this message."""
        parts = (
            (Text(text=text_or_parts),) if isinstance(text_or_parts, str) else tuple(text_or_parts)
        )
        payload: dict[str, Any] = {
            "user_id": user_id,
            "message_id": message_id or f"{user_id}-{next(self._ids)}",
            "parts": codec.encode(parts),
        }
        if profile is not None:
            payload["profile"] = codec.encode(profile)
        body = json.dumps(payload, ensure_ascii=False).encode()
        return body, {"content-type": "application/json", "x-fake-signature": self.sign(body)}

    async def wait_for_replies(
        self, user_id: str, count: int, timeout: float = 5.0
    ) -> list[OutboundMessage]:
        """Wait until `user_id` received at least `count` replies; return them."""
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(self.outbox[user_id]) >= count), timeout
            )
            return list(self.outbox[user_id])
