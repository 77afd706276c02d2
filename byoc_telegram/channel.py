"""`TelegramChannel`: a Telegram bot (the Bot API) as a byoc channel."""

from __future__ import annotations

import hmac
import mimetypes
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import httpx
from typing_extensions import Self, override

from byoc import (
    AccountCheck,
    Buttons,
    Capabilities,
    Channel,
    ChannelEvent,
    ConfigurationError,
    Contact,
    DeliveryError,
    File,
    FreshnessWindow,
    HttpClientSlot,
    Image,
    InstallResult,
    Location,
    MediaStream,
    MediaTooLarge,
    OutboundMessage,
    PermanentError,
    QuickReplies,
    SendResult,
    SignatureError,
    Text,
    Video,
    WebhookRequest,
    WebhookResponse,
    fit_message,
    open_media,
    require_setting,
)
from byoc.clock import Clock, SystemClock
from byoc.media import MediaPart
from byoc.upstream import answer_text

from .api import DEFAULT_API_URL, BadRequest, TelegramApi
from .freshness import DEFAULT_FRESHNESS, KEPT_FOR, check_update_time
from .inbound import callback_query_id, load_update, update_events
from .limits import FILE_SCHEME, MAX_DOWNLOAD, MAX_TEXT, MAX_UPLOAD, SECRET
from .outbound import Call, plan_reply

__all__ = ["ALLOWED_UPDATES", "SECRET_HEADER", "TelegramChannel"]

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "my_chat_member")
"""The updates `install` asks for: everything the bridge turns into events."""

_TOKEN = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{20,100}")
_CHAT_ID = re.compile(r"-?[0-9]{1,20}")
_MAKE_SECRET = (
    "make one with `python -c 'import secrets; print(secrets.token_urlsafe(32))'` (16 to 256 "
    "of A-Z a-z 0-9 _ -); `byoc install telegram` gives it to Telegram, which sends it back "
    "with every update"
)


class _Unfetched(PermanentError):
    """The agent's file could not be downloaded for upload (a broken link, over 50 MB)."""


class TelegramChannel(Channel):
    """Telegram bots: `Update`s on a webhook, the Bot API out.

    ```python
    telegram = TelegramChannel(bot_token="123456789:AAE...", webhook_secret="s3cr3t-...")
    await telegram.install("https://bridge.example.com/channels/telegram/webhook")
    ```

    - `bot_token`: from @BotFather (`/newbot`, or `/token` for an existing bot).
    - `webhook_secret`: sent by `install` as `setWebhook`'s `secret_token`; Telegram sends it
      back in `X-Telegram-Bot-Api-Secret-Token` on every update, and `parse` refuses others.
    - `api_url`: the Bot API's base URL (the emulator's in tests); `http`: a client to use.
    - `freshness`: how old an update's own time may be (`BYOC_TELEGRAM_MAX_WEBHOOK_AGE`,
      default 25 hours, as Telegram keeps updates for a day) and how far ahead
      (`BYOC_TELEGRAM_WEBHOOK_CLOCK_SKEW`, 5 minutes); `clock` tells the time. An update
      outside it is refused, but answered 200 (`byoc_telegram.freshness`).

    Media users send is referred to as `tg-file:<file_id>/<name>`: its download URL holds the
    token, so
    the bridge copies it into the help desk with `fetch_media` (`media_urls_expire`).
    """

    name = "telegram"
    capabilities = Capabilities(
        send=frozenset({Text, Image, Video, File, Location, Contact, Buttons, QuickReplies}),
        max_text_length=MAX_TEXT,
        media_urls_expire=True,
    )

    def __init__(
        self,
        *,
        bot_token: str,
        webhook_secret: str,
        api_url: str = DEFAULT_API_URL,
        http: httpx.AsyncClient | None = None,
        freshness: FreshnessWindow = DEFAULT_FRESHNESS,
        clock: Clock | None = None,
    ) -> None:
        if not _TOKEN.fullmatch(bot_token):
            raise ConfigurationError(
                "BYOC_TELEGRAM_BOT_TOKEN is not a bot token (digits, a colon, then letters, like "
                "123456789:AAHk...); @BotFather's /token shows it"
            )
        if not SECRET.fullmatch(webhook_secret) or len(webhook_secret) < 16:
            raise ConfigurationError(f"BYOC_TELEGRAM_WEBHOOK_SECRET is unusable; {_MAKE_SECRET}")
        if not api_url.lower().startswith(("https://", "http://")):
            raise ConfigurationError(
                f"BYOC_TELEGRAM_API_URL must be an http(s) URL, like {DEFAULT_API_URL}"
            )
        self._secret = webhook_secret
        self.api_url = api_url.rstrip("/")
        self._http = HttpClientSlot(http, timeout=30.0)
        self._token = bot_token
        self.freshness = freshness
        self.clock: Clock = clock or SystemClock()

    @property
    def _api(self) -> TelegramApi:
        return TelegramApi(token=self._token, http=self._http.client, base_url=self.api_url)

    @classmethod
    @override
    def from_env(cls, env: Mapping[str, str]) -> Self:
        return cls(
            bot_token=require_setting(
                env, "BYOC_TELEGRAM_BOT_TOKEN", "@BotFather in Telegram gives it (/newbot)"
            ),
            webhook_secret=require_setting(env, "BYOC_TELEGRAM_WEBHOOK_SECRET", _MAKE_SECRET),
            api_url=env.get("BYOC_TELEGRAM_API_URL", "").strip() or DEFAULT_API_URL,
            freshness=FreshnessWindow.from_env(
                env,
                "BYOC_TELEGRAM_MAX_WEBHOOK_AGE",
                "BYOC_TELEGRAM_WEBHOOK_CLOCK_SKEW",
                default=DEFAULT_FRESHNESS,
            ),
        )

    # -- inbound ------------------------------------------------------------------------------

    @override
    async def parse(self, request: WebhookRequest) -> Sequence[ChannelEvent]:
        """Check the secret header, refuse an update made outside the freshness window
        (`StaleUpdate`, answered 200 so Telegram does not repeat it), then parse it."""
        given = (request.header(SECRET_HEADER) or "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, self._secret.encode()):
            raise SignatureError(
                f"{SECRET_HEADER} is missing or wrong: is BYOC_TELEGRAM_WEBHOOK_SECRET the "
                "secret `byoc install telegram` registered?"
            )
        update = load_update(request.body)
        check_update_time(self.freshness, update, now=self.clock.time())
        return update_events(update, channel=self.name)

    @override
    async def ack(self, request: WebhookRequest, events: Sequence[ChannelEvent]) -> WebhookResponse:
        """200; to a button tap, `answerCallbackQuery` in the answer itself (Telegram runs a
        method named in the webhook's answer), so the button stops spinning without a call."""
        query_id = callback_query_id(request.body)
        if query_id is None:
            return WebhookResponse()
        return WebhookResponse.json(
            {"method": "answerCallbackQuery", "callback_query_id": query_id}
        )

    @override
    async def fetch_media(self, part: MediaPart, *, max_bytes: int) -> MediaStream | None:
        """A user's file: `getFile`, then its download URL (which holds the token), read as a
        stream of at most `max_bytes`. Telegram serves no file over 20 MB to bots."""
        if not part.url.startswith(FILE_SCHEME):
            return None
        file_id = part.url.removeprefix(FILE_SCHEME).split("/", 1)[0]
        what = f"Telegram file {file_id[:12]}..."
        limit = min(max_bytes, MAX_DOWNLOAD)
        if part.size is not None and part.size > limit:
            raise MediaTooLarge(what, size=part.size, limit=limit)
        try:
            found = await self._api.call("getFile", {"file_id": file_id})
        except BadRequest as exc:
            if "too big" not in str(exc):
                raise
            raise MediaTooLarge(
                what, size=part.size or MAX_DOWNLOAD + 1, limit=MAX_DOWNLOAD
            ) from None
        path = found.get("file_path") if isinstance(found, dict) else None
        if not isinstance(path, str) or not path:
            raise PermanentError(f"Telegram getFile answered no file_path for {what}")
        name = part.name if isinstance(part, Image | File) else None
        return await open_media(
            self._http.client, self._api.file_url(path), max_bytes=limit, what=what, name=name
        )

    # -- outbound -----------------------------------------------------------------------------

    @override
    async def send(self, user_id: str, message: OutboundMessage) -> SendResult:
        """Send an agent's reply as Bot API calls (`byoc_telegram.outbound`).

        A reply of several messages that failed half way remembers (in the bound store) how
        many went out, so the bridge's retry sends only the rest.
        """
        if not _CHAT_ID.fullmatch(user_id):
            raise PermanentError(f"{user_id[:40]!r} is not a Telegram chat id")
        # The bridge fits a reply to `capabilities` before `send`; fitting again is a no-op
        # then, and keeps a reply whole for a caller that did not.
        fitted, fitted_notes = fit_message(message, self.capabilities)
        plan = plan_reply(fitted.parts, int(user_id))
        notes = [*fitted_notes, *plan.notes]
        if not plan.calls:
            return SendResult(notes=(*notes, "the reply had nothing Telegram can show"))
        key = f"{self.name}:sent:{message.message_id}"
        done = await self._sent_before(key) if len(plan.calls) > 1 else 0
        sent: list[str] = []
        for index, call in enumerate(plan.calls[done:], start=done):
            try:
                answer = await self._perform(call, notes)
            except (DeliveryError, ConfigurationError):
                if index and self.store is not None:
                    await self.store.set_setting(key, str(index))
                raise
            if isinstance(answer, dict) and answer.get("message_id") is not None:
                sent.append(str(answer["message_id"]))
        if done and self.store is not None:
            await self.store.delete_setting(key)
        return SendResult(message_ids=sent, notes=notes)

    async def _sent_before(self, key: str) -> int:
        saved = await self.store.get_setting(key) if self.store is not None else None
        return int(saved) if saved and saved.isdigit() else 0

    async def _perform(self, call: Call, notes: list[str]) -> Any:
        """Make `call`; its fallback text instead when Telegram cannot take its media."""
        try:
            if call.upload is None:
                return await self._api.call(call.method, call.body)
            upload = await self._download(call, call.body[call.upload])
            params = {k: v for k, v in call.body.items() if k != call.upload}
            return await self._api.upload(call.method, params, call.upload, upload)
        except (BadRequest, _Unfetched) as exc:  # the content was refused, not the user
            if call.fallback is None:
                raise
            notes.append(f"{call.method} was sent as a link ({exc})")
            body = {"chat_id": call.body["chat_id"], "text": call.fallback[:MAX_TEXT]}
            if "reply_markup" in call.body:
                body["reply_markup"] = call.body["reply_markup"]
            return await self._api.call("sendMessage", body)

    async def _download(self, call: Call, url: str) -> tuple[str, bytes, str]:
        name = call.upload_name or "file"
        try:
            media = await open_media(self._http.client, url, max_bytes=MAX_UPLOAD, name=name)
            async with media:
                data = await media.read()
        except PermanentError as exc:
            raise _Unfetched(f"the agent's file could not be uploaded: {exc}") from None
        guessed = mimetypes.guess_type(name, strict=False)[0]
        return name, data, media.content_type or guessed or "application/octet-stream"

    # -- install and account ------------------------------------------------------------------

    @override
    async def install(self, target_url: str) -> InstallResult:
        """`setWebhook` with the secret and the updates the bridge reads. Telegram does not call
        the URL while registering it: the first update shows whether it is reachable."""
        try:
            await self._api.call(
                "setWebhook",
                {
                    "url": target_url,
                    "secret_token": self._secret,
                    "allowed_updates": list(ALLOWED_UPDATES),
                },
            )
        except BadRequest as exc:
            raise ConfigurationError(
                f"Telegram refused the webhook {target_url!r} ({exc}); it calls only HTTPS URLs "
                "with a valid certificate on port 443, 80, 88 or 8443: check BYOC_PUBLIC_URL"
            ) from None
        return InstallResult(
            target_url=target_url,
            registered=True,
            instructions="Telegram sends " + ", ".join(ALLOWED_UPDATES) + " updates here",
        )

    @override
    async def uninstall(self) -> None:
        """`deleteWebhook`: Telegram keeps new updates (for a day) until a webhook is set."""
        await self._api.call("deleteWebhook", {"drop_pending_updates": False})

    @override
    async def check(self) -> AccountCheck:
        """`getMe` (the token works), then `getWebhookInfo`: where Telegram sends updates, and
        its last failed delivery there when that was within the day Telegram keeps updates
        (with how many wait), which `byoc check` shows as a warning."""
        me = await self._api.call("getMe")
        info = await self._api.call("getWebhookInfo")
        info = info if isinstance(info, dict) else {}
        username = me.get("username") if isinstance(me, dict) else None
        webhook = info.get("url")
        return AccountCheck(
            account=f"@{username}" if isinstance(username, str) and username else None,
            webhook=webhook if isinstance(webhook, str) and webhook else None,
            reports_webhook=True,
            webhook_error=self._delivery_error(info),
        )

    def _delivery_error(self, info: Mapping[str, Any]) -> str | None:
        """`getWebhookInfo`'s `last_error_message` with its date and the updates waiting, or
        None when there is none or it is over a day old (those updates are gone)."""
        when, said = info.get("last_error_date"), info.get("last_error_message")
        if not isinstance(when, int) or isinstance(when, bool) or not isinstance(said, str):
            return None
        if not 0 <= self.clock.time() - when <= KEPT_FOR:
            return None
        moment = datetime.fromtimestamp(when, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        text = f"{answer_text(said, secrets=[self._token])} at {moment}"
        pending = info.get("pending_update_count")
        if isinstance(pending, int) and not isinstance(pending, bool) and pending > 0:
            text += f"; {pending} update{'s' if pending != 1 else ''} waiting"
        return text

    @override
    async def aclose(self) -> None:
        await self._http.aclose()
