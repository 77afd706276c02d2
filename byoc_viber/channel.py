"""`ViberChannel`: the Viber REST Bot API as a byoc channel."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence

import httpx
from typing_extensions import Self, override

from byoc.channel import AccountCheck, Capabilities, Channel, InstallResult, require_setting
from byoc.clock import Clock, SystemClock
from byoc.errors import ConfigurationError, DeliveryError, PermanentError
from byoc.freshness import FreshnessWindow
from byoc.http_client import HttpClientSlot
from byoc.media import MediaPart, MediaStream, open_media
from byoc.models import (
    Buttons,
    ChannelEvent,
    Contact,
    ConversationStarted,
    File,
    Image,
    Link,
    Location,
    OutboundMessage,
    Profile,
    QuickReplies,
    SendResult,
    Sticker,
    Text,
    Video,
)
from byoc.webhook import WebhookRequest, WebhookResponse

from .api import DEFAULT_API_URL, AccountInfo, ViberApi
from .inbound import callback_time, load_callback, parse_payload, parse_profile
from .limits import MAX_SENDER_NAME, MAX_TEXT, MAX_URL, viber_length
from .outbound import Sender, deliver, map_message, probe_media, wanted_sizes
from .signature import SIGNATURE_HEADER, verify_signature

__all__ = ["DEFAULT_EVENT_TYPES", "DEFAULT_FRESHNESS", "EVENT_TYPES", "ViberChannel"]

logger = logging.getLogger("byoc.viber")

DEFAULT_EVENT_TYPES = (
    "delivered",
    "seen",
    "failed",
    "subscribed",
    "unsubscribed",
    "conversation_started",
)
"""What `install` subscribes to; `message`, `subscribed` and `unsubscribed` always come."""

EVENT_TYPES = frozenset(DEFAULT_EVENT_TYPES + ("message", "webhook", "client_status", "action"))
"""Every event name Viber's `set_webhook` knows."""

_MAX_RECEIVER = 256

DEFAULT_FRESHNESS = FreshnessWindow(max_age=2 * 3600.0, max_skew=300.0)
"""Viber retries a callback for about an hour: one sent over two hours ago is a replay."""


class ViberChannel(Channel):
    """Viber bots (the REST Bot API at `chatapi.viber.com/pa`).

    ```python
    viber = ViberChannel(auth_token="445da6az...", sender_name="Acme Support")
    await viber.install("https://bridge.example.com/channels/viber/webhook")
    ```

    Settings (`from_env` reads them from `BYOC_VIBER_*`):

    - `auth_token` — the bot's token (Viber Admin Panel / Partners → your bot).
    - `sender_name` (≤ 28 characters) and `sender_avatar` (a URL): shown on every message.
    - `api_url` — the API base URL; the emulator's in tests.
    - `http` — an `httpx.AsyncClient` to use; one is created (and closed by `aclose`) if None.
    - `welcome_message` — answered to `conversation_started` (a user opening the chat).
    - `event_types` — what `install` subscribes to besides the mandatory events.
    - `freshness` — how old a callback's `timestamp` may be (`BYOC_VIBER_MAX_WEBHOOK_AGE`,
      default 2 hours) and how far ahead (`BYOC_VIBER_WEBHOOK_CLOCK_SKEW`, 5 minutes);
      `clock` tells the time.

    Inbound media URLs expire after an hour (`capabilities.media_urls_expire`): the bridge
    copies them into the help desk at once.
    """

    name = "viber"
    capabilities = Capabilities(
        send=frozenset(
            {Text, Image, Video, File, Location, Contact, Sticker, Link, Buttons, QuickReplies}
        ),
        max_text_length=MAX_TEXT,
        media_urls_expire=True,
    )

    def __init__(
        self,
        *,
        auth_token: str,
        sender_name: str,
        sender_avatar: str | None = None,
        api_url: str = DEFAULT_API_URL,
        http: httpx.AsyncClient | None = None,
        welcome_message: str | None = None,
        event_types: Sequence[str] = DEFAULT_EVENT_TYPES,
        freshness: FreshnessWindow = DEFAULT_FRESHNESS,
        clock: Clock | None = None,
    ) -> None:
        if not auth_token.strip():
            raise ConfigurationError(
                "BYOC_VIBER_AUTH_TOKEN is empty; get the token in the Viber Admin Panel "
                "(Partners) → your bot"
            )
        if not sender_name.strip() or viber_length(sender_name) > MAX_SENDER_NAME:
            raise ConfigurationError(
                f"BYOC_VIBER_SENDER_NAME must be 1 to {MAX_SENDER_NAME} characters (Viber's "
                f"limit for sender.name); got {sender_name!r}"
            )
        if sender_avatar is not None and (
            not sender_avatar.lower().startswith(("https://", "http://"))
            or len(sender_avatar) > MAX_URL
        ):
            raise ConfigurationError(
                "BYOC_VIBER_SENDER_AVATAR must be an http(s) URL of at most 2000 characters "
                f"(a picture of at most 100 KB); got {sender_avatar[:100]!r}"
            )
        if not api_url.lower().startswith(("https://", "http://")):
            raise ConfigurationError(
                f"BYOC_VIBER_API_URL must be an http(s) URL, like {DEFAULT_API_URL}; "
                f"got {api_url!r}"
            )
        if welcome_message is not None and viber_length(welcome_message) > MAX_TEXT:
            raise ConfigurationError(
                f"BYOC_VIBER_WELCOME_MESSAGE is over Viber's {MAX_TEXT} characters"
            )
        unknown = sorted(set(event_types) - EVENT_TYPES)
        if unknown:
            raise ConfigurationError(
                f"unknown Viber event types {unknown}; known: {sorted(EVENT_TYPES)}"
            )
        self.auth_token = auth_token
        self.sender = Sender(name=sender_name, avatar=sender_avatar or None)
        self.api_url = api_url.rstrip("/")
        self.welcome_message = welcome_message or None
        self.event_types = tuple(event_types)
        self.freshness = freshness
        self.clock: Clock = clock or SystemClock()
        self._slot = HttpClientSlot(http, timeout=15.0)
        self._viber_api: ViberApi | None = None
        self._viber_key: tuple[object, ...] = ()

    @property
    def _http(self) -> httpx.AsyncClient:
        return self._slot.client

    @property
    def _api(self) -> ViberApi:
        # Kept while client, token and URL stay: building one costs as much as the call it makes.
        http = self._http
        key = (http, self.auth_token, self.api_url)
        if self._viber_api is None or self._viber_key != key:
            self._viber_api = ViberApi(token=self.auth_token, http=http, base_url=self.api_url)
            self._viber_key = key
        return self._viber_api

    @classmethod
    @override
    def from_env(cls, env: Mapping[str, str]) -> Self:
        def optional(key: str) -> str | None:
            return env.get(key, "").strip() or None

        return cls(
            auth_token=require_setting(
                env,
                "BYOC_VIBER_AUTH_TOKEN",
                "get it in the Viber Admin Panel (Partners) → your bot → token",
            ),
            sender_name=require_setting(
                env,
                "BYOC_VIBER_SENDER_NAME",
                f"set the name shown on the bot's messages (at most {MAX_SENDER_NAME} characters)",
            ),
            sender_avatar=optional("BYOC_VIBER_SENDER_AVATAR"),
            api_url=optional("BYOC_VIBER_API_URL") or DEFAULT_API_URL,
            welcome_message=optional("BYOC_VIBER_WELCOME_MESSAGE"),
            freshness=FreshnessWindow.from_env(
                env,
                "BYOC_VIBER_MAX_WEBHOOK_AGE",
                "BYOC_VIBER_WEBHOOK_CLOCK_SKEW",
                default=DEFAULT_FRESHNESS,
            ),
        )

    # -- inbound ----------------------------------------------------------------------------

    @override
    async def parse(self, request: WebhookRequest) -> Sequence[ChannelEvent]:
        """Verify `X-Viber-Content-Signature` on the raw body, refuse a callback sent outside
        the freshness window (`StaleWebhook`), then parse it."""
        verify_signature(self.auth_token, request.body, request.header(SIGNATURE_HEADER))
        payload = load_callback(request.body)
        self.freshness.check(callback_time(payload), now=self.clock.time(), what="Viber callback")
        return parse_payload(payload, channel=self.name)

    @override
    async def ack(self, request: WebhookRequest, events: Sequence[ChannelEvent]) -> WebhookResponse:
        """200 with `{}`; to `conversation_started`, the welcome message when one is set.

        Viber shows the welcome message to a user who opened the chat (it is the only message
        a bot may send before the user subscribes): `send_message` JSON without `receiver`.
        """
        if self.welcome_message and any(isinstance(e, ConversationStarted) for e in events):
            mapped = map_message(
                [Text(text=self.welcome_message)], sender=self.sender, receiver=None
            )
            if mapped.bodies:
                return WebhookResponse.json(mapped.bodies[0])
        return WebhookResponse.json({})

    # -- outbound ---------------------------------------------------------------------------

    @override
    async def send(self, user_id: str, message: OutboundMessage) -> SendResult:
        """Send an agent's reply as one or more Viber messages.

        A reply that became several messages and failed half way remembers (in the bound store)
        which went out, so the bridge's retry sends only the rest.
        """
        if not user_id or len(user_id) > _MAX_RECEIVER:
            raise PermanentError(f"{user_id[:80]!r} is not a Viber user id")
        urls = wanted_sizes(message.parts)
        found = await asyncio.gather(*(probe_media(self._http, url) for url in urls))
        probed = dict(zip(urls, found, strict=True))
        mapped = map_message(
            message.parts,
            sender=self.sender,
            receiver=user_id,
            sizes={url: media.size for url, media in probed.items()},
            content_types={url: media.content_type for url, media in probed.items()},
        )
        if not mapped.bodies:
            return SendResult(notes=(*mapped.notes, "the reply had nothing Viber can show"))
        several = len(mapped.bodies) > 1
        sent = await self._sent_before(message.message_id) if several else []
        resumed = bool(sent)
        try:
            await deliver(self._api, mapped.bodies, sent)
        except (DeliveryError, ConfigurationError):
            if several and sent:
                logger.warning(
                    "reply %s: %d of %d Viber messages went out before the failure",
                    message.message_id,
                    len(sent),
                    len(mapped.bodies),
                )
                await self._remember_sent(message.message_id, sent)
            raise
        if resumed:
            await self._remember_sent(message.message_id, [])
        return SendResult(message_ids=tuple(t for t in sent if t), notes=mapped.notes)

    async def _sent_before(self, message_id: str) -> list[str]:
        if self.store is None:
            return []
        saved = await self.store.get_setting(self._progress_key(message_id))
        if not saved:
            return []
        try:
            tokens = json.loads(saved)
        except ValueError:
            return []
        return [t for t in tokens if isinstance(t, str)] if isinstance(tokens, list) else []

    def _progress_key(self, message_id: str) -> str:
        return f"{self.name}:sent:{message_id}"

    async def _remember_sent(self, message_id: str, sent: list[str]) -> None:
        if self.store is not None:
            await self.store.set_setting(self._progress_key(message_id), json.dumps(sent))

    # -- install and account ----------------------------------------------------------------

    @override
    async def install(self, target_url: str) -> InstallResult:
        """Register `target_url` as the bot's webhook (`set_webhook`).

        Viber calls the URL *during* this call with a signed `webhook` event and registers it
        only if that answers 200, so the bridge must already be serving the URL: call this
        after the server is up. The URL must be HTTPS with a certificate from a public CA.
        """
        if not target_url:
            raise ConfigurationError("the Viber webhook URL is empty; pass the bridge's public URL")
        answer = await self._api.set_webhook(target_url, self.event_types)
        events = answer.get("event_types")
        if not isinstance(events, list):
            events = []
        listed = ", ".join(e for e in events if isinstance(e, str))
        return InstallResult(
            target_url=target_url,
            registered=True,
            instructions=f"Viber calls this URL for: {listed}" if listed else "",
        )

    @override
    async def uninstall(self) -> None:
        """Remove the webhook (`set_webhook` with an empty URL): Viber stops calling."""
        await self._api.set_webhook("", None)

    async def account_info(self) -> AccountInfo:
        """The bot account: name, URI, current webhook, subscriber count (`get_account_info`)."""
        return AccountInfo.from_answer(await self._api.call("get_account_info", {}))

    @override
    async def check(self) -> AccountCheck:
        """`get_account_info`: the token works, and which webhook Viber calls now."""
        info = await self.account_info()
        return AccountCheck(account=info.name or None, webhook=info.webhook, reports_webhook=True)

    @override
    async def fetch_media(self, part: MediaPart, *, max_bytes: int) -> MediaStream:
        """Viber's media URLs need no credential; they are fetched through the channel's client
        (its proxy and transport) while they live (an hour)."""
        return await open_media(self._http, part.url, max_bytes=max_bytes, name=_name(part))

    async def user_details(self, user_id: str) -> Profile:
        """A user's profile (`get_user_details`). Viber allows two calls per user per 12 hours."""
        answer = await self._api.call("get_user_details", {"id": user_id})
        user = answer.get("user")
        if not isinstance(user, dict):
            raise PermanentError("Viber get_user_details answered without a 'user' object")
        return parse_profile(user)

    @override
    async def aclose(self) -> None:
        await self._slot.aclose()


def _name(part: MediaPart) -> str | None:
    return part.name if isinstance(part, Image | File) else None
