"""What the `kakao` channel needs from a 상담톡 (consultation talk) dealer.

상담톡 reaches businesses only through licensed dealers, and every dealer has its own API.
`KakaoDealerChannel` does what is common (secret-path authentication, install data, sending
each payload once) and hands the rest to a `Dealer`: one module per dealer, e.g.
`byoc_kakao.dealers.happytalk`. A new dealer implements this protocol and adds one line to
`byoc_kakao.dealers.DEALERS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol

import attrs

from byoc.media import MediaPart, MediaStream
from byoc.models import InboundMessage, OutboundMessage
from byoc.webhook import WebhookResponse

__all__ = ["Dealer", "DealerOutbound", "DealerPayload", "MediaUpload"]


@attrs.frozen(kw_only=True)
class MediaUpload:
    """Media a payload shows, to be copied to the dealer before the payload goes out.

    상담톡 sends only files stored on Kakao's servers, so `Dealer.deliver` downloads `url` (the
    help desk's copy), uploads it, and puts the stored file's URL in the body. `kind` says which
    upload (an image or any other file); `file_type` is the dealer's category of a file
    ("file", "video", "audio").
    """

    url: str
    kind: Literal["image", "file"]
    name: str
    content_type: str | None = None
    file_type: str = "file"


@attrs.frozen(kw_only=True)
class DealerPayload:
    """One message as the dealer's send API takes it.

    `serial` identifies it: it is the same every time the same part of the same agent message
    is prepared for the same user, so a retried delivery can skip what already went out.
    `upload` is the media to upload first, whose stored URL completes `body`.
    """

    serial: str
    body: Mapping[str, Any]
    upload: MediaUpload | None = None


@attrs.frozen(kw_only=True)
class DealerOutbound:
    """An agent message turned into dealer payloads, plus what had to be degraded."""

    payloads: tuple[DealerPayload, ...]
    notes: tuple[str, ...] = ()


class Dealer(Protocol):
    """One dealer's wire format and API. Mapping methods are pure; the others do I/O.

    Errors from the I/O methods follow byoc's hierarchy: `ConfigurationError` naming the setting
    to fix, `RetryableError` (`RateLimited`) for outages and throttling, `PermanentError` for
    refusals. `parse_webhook` raises only `MalformedPayload`.
    """

    @property
    def name(self) -> str:
        """The dealer's name, e.g. "happytalk"."""
        ...

    def parse_webhook(self, payload: Mapping[str, Any], *, channel: str) -> list[InboundMessage]:
        """The messages in one webhook body the dealer sent (already authenticated)."""
        ...

    def webhook_ack(self) -> WebhookResponse:
        """The answer the dealer expects once its webhook is accepted."""
        ...

    def outbound(self, user_key: str, message: OutboundMessage) -> DealerOutbound:
        """An agent message as payloads within the dealer's limits."""
        ...

    async def deliver(self, payload: DealerPayload) -> None:
        """Send one payload, uploading its media first when it has some."""
        ...

    async def fetch_media(self, part: MediaPart, *, max_bytes: int) -> MediaStream:
        """The bytes of a file a user sent (`byoc.media.open_media`, with the dealer's
        credentials when its file URLs need them)."""
        ...

    async def end_session(self, user_key: str) -> str | None:
        """End the user's consultation session; the dealer's id of the ended session if any."""
        ...

    async def register_webhook(self, url: str) -> bool:
        """Point the dealer's webhook at `url`; False when the dealer has no API for that."""
        ...

    async def unregister_webhook(self) -> None:
        """Undo `register_webhook` (nothing to do for dealers registered by hand)."""
        ...

    def registration_instructions(self, url: str) -> str:
        """Where an operator pastes `url` when it is registered by hand."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
