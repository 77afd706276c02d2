"""The `kakao` channel: KakaoTalk consultation talk (상담톡) through a licensed dealer.

A dealer (HappyTalk by default) forwards what users write to the bridge's webhook and sends the
agents' answers back. Dealers do not sign their webhooks, so the webhook URL ends in a secret
path segment (`/channels/kakao/webhook/<secret>`), optionally backed by a secret header the
dealer is configured to send; both are compared in constant time.

```python
channel = KakaoDealerChannel.from_env(os.environ)   # BYOC_KAKAO_* settings
result = await channel.install("https://bridge.example.com/channels/kakao/webhook")
print(result.target_url, result.instructions)       # paste where the instructions say
```
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from typing_extensions import Self, override

from byoc.channel import Capabilities, Channel, InstallResult, require_setting
from byoc.media import MediaPart, MediaStream
from byoc.models import (
    Buttons,
    ChannelEvent,
    Contact,
    File,
    Image,
    Link,
    Location,
    OutboundMessage,
    QuickReplies,
    SendResult,
    Sticker,
    Text,
    Video,
)
from byoc.webhook import WebhookRequest, WebhookResponse, parse_json_object

from .dealers import Dealer, dealer_from_env
from .shared_secret import HOW_TO_CHOOSE, check_secret, validate_secret

__all__ = ["DEFAULT_HEADER_NAME", "KakaoDealerChannel"]

log = logging.getLogger(__name__)

DEFAULT_HEADER_NAME = "X-Kakao-Webhook-Secret"


class KakaoDealerChannel(Channel):
    """KakaoTalk 상담톡 via a dealer (entry point `kakao`).

    - `parse` checks the secret path segment (and the secret header when configured), then lets
      the dealer read the body; the message id is the dealer's `serial_number`.
    - `send` splits and degrades through the dealer's mapping, then delivers each payload once:
      with a bound store, a retry of a half-sent message skips what already went out.
    - `end_session(user_id)` ends the user's consultation session (call it when the help-desk
      conversation is resolved).
    - `install` keeps the webhook URL (secret included) in the store for the admin page.
    """

    name = "kakao"
    capabilities = Capabilities(
        send=frozenset(
            {Text, Image, File, Video, Link, Location, Contact, Sticker, Buttons, QuickReplies}
        ),
        max_text_length=1000,
        media_urls_expire=True,
    )

    SENT_TTL = 7 * 24 * 3600.0
    """How long a delivered payload is remembered, so retries within it skip it."""

    def __init__(
        self,
        *,
        dealer: Dealer,
        webhook_secret: str,
        header_secret: str | None = None,
        header_name: str = DEFAULT_HEADER_NAME,
    ) -> None:
        self.dealer = dealer
        self.webhook_secret = validate_secret(webhook_secret, setting="BYOC_KAKAO_WEBHOOK_SECRET")
        self.header_secret = (
            None
            if header_secret is None
            else validate_secret(header_secret, setting="BYOC_KAKAO_WEBHOOK_HEADER_SECRET")
        )
        self.header_name = header_name

    @classmethod
    @override
    def from_env(cls, env: Mapping[str, str]) -> Self:
        """Settings: `BYOC_KAKAO_DEALER` (default happytalk) and the dealer's own (HappyTalk:
        `BYOC_KAKAO_DEALER_API_URL`, `BYOC_KAKAO_CLIENT_ID`, `BYOC_KAKAO_CLIENT_SECRET`,
        `BYOC_KAKAO_SENDER_KEY`), `BYOC_KAKAO_WEBHOOK_SECRET` (required), and optionally
        `BYOC_KAKAO_WEBHOOK_HEADER_SECRET` / `BYOC_KAKAO_WEBHOOK_HEADER_NAME`."""
        secret = require_setting(
            env,
            "BYOC_KAKAO_WEBHOOK_SECRET",
            f"it authenticates the dealer's webhooks as the last segment of their URL; "
            f"{HOW_TO_CHOOSE}",
        )
        validate_secret(secret, setting="BYOC_KAKAO_WEBHOOK_SECRET")
        return cls(
            dealer=dealer_from_env(env),
            webhook_secret=secret,
            header_secret=env.get("BYOC_KAKAO_WEBHOOK_HEADER_SECRET", "").strip() or None,
            header_name=env.get("BYOC_KAKAO_WEBHOOK_HEADER_NAME", "").strip()
            or DEFAULT_HEADER_NAME,
        )

    @override
    async def parse(self, request: WebhookRequest) -> Sequence[ChannelEvent]:
        check_secret(
            request.subpath.strip("/"),
            self.webhook_secret,
            what="the secret path segment of the dealer webhook",
        )
        if self.header_secret is not None:
            check_secret(
                request.header(self.header_name),
                self.header_secret,
                what=f"the {self.header_name} header of the dealer webhook",
            )
        payload = parse_json_object(request.body, what="KakaoTalk dealer webhook")
        return self.dealer.parse_webhook(payload, channel=self.name)

    @override
    async def ack(self, request: WebhookRequest, events: Sequence[ChannelEvent]) -> WebhookResponse:
        return self.dealer.webhook_ack()

    @override
    async def send(self, user_id: str, message: OutboundMessage) -> SendResult:
        outbound = self.dealer.outbound(user_id, message)
        notes = list(outbound.notes)
        if not outbound.payloads:
            notes.append("the message had nothing KakaoTalk can show; nothing was sent")
        sent: list[str] = []
        for payload in outbound.payloads:
            key = f"{self.name}:sent:{payload.serial}"
            if self.store is not None and not await self.store.claim(key, self.SENT_TTL):
                # An earlier attempt at this message delivered this payload already.
                sent.append(payload.serial)
                continue
            try:
                await self.dealer.deliver(payload)
            except BaseException:
                if self.store is not None:
                    await self.store.release(key)
                raise
            sent.append(payload.serial)
        return SendResult(message_ids=sent, notes=notes)

    @override
    async def fetch_media(self, part: MediaPart, *, max_bytes: int) -> MediaStream:
        return await self.dealer.fetch_media(part, max_bytes=max_bytes)

    async def end_session(self, user_id: str) -> str | None:
        """End the user's consultation session at the dealer (the help desk resolved it).

        Returns the dealer's id of the session it ended, when it says.
        """
        return await self.dealer.end_session(user_id)

    @override
    async def conversation_resolved(self, user_id: str) -> None:
        await self.end_session(user_id)

    @override
    async def install(self, target_url: str) -> InstallResult:
        url = f"{target_url.rstrip('/')}/{self.webhook_secret}"
        registered = await self.dealer.register_webhook(url)
        instructions = (
            f"Registered with {self.dealer.name}."
            if registered
            else self.dealer.registration_instructions(url)
        )
        if self.header_secret is not None and not registered:
            instructions += (
                f" Ask for every webhook to carry the header {self.header_name} with the value "
                "of BYOC_KAKAO_WEBHOOK_HEADER_SECRET."
            )
        return InstallResult(target_url=url, registered=registered, instructions=instructions)

    @override
    async def uninstall(self) -> None:
        await self.dealer.unregister_webhook()

    @override
    async def aclose(self) -> None:
        await self.dealer.aclose()
