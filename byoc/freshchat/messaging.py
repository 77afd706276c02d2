"""`FreshchatMessaging`: the `Messaging` contract over Freshchat REST v2 and its webhooks.

Every method is one Freshchat call (`rehost` downloads, then makes one upload call). The channel
new conversations go to is looked up once when not configured, then remembered, so the steady
state stays one call per message. A user id is Freshchat's own: it is all Freshchat needs to post
as that user, so the contract's default `get_or_create_user` (find, then create) serves, and a
new user's first message costs three calls (find, create, create the conversation).

```python
messaging = FreshchatMessaging.from_env(os.environ)
user = await messaging.find_user("viber:jc9HsWTZ2Yf2NkRZ8KcNug==")
posted = await messaging.post_message(conversation_id, user.id, [Text(text="hello")])
```
"""

from __future__ import annotations

import asyncio
import json
import logging
import mimetypes
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import attrs
import httpx
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from typing_extensions import Self, override

from ..channel import AccountCheck, require_setting
from ..clock import Clock, SystemClock
from ..errors import ConfigurationError, PermanentError, SignatureError
from ..freshness import FreshnessWindow
from ..media import MediaPart, MediaStream, download, filename_from_url, read_within
from ..messaging import HelpdeskUser, Messaging, MessagingEvent, Posted
from ..models import File, Image, Part, Profile, Video
from ..webhook import WebhookRequest
from .client import FreshchatClient
from .parts import to_freshchat
from .signature import SIGNATURE_HEADER, load_public_key, verify_signature
from .webhooks import load_webhook, parse_webhook_payload, webhook_time

__all__ = ["DEFAULT_FRESHNESS", "DEFAULT_MAX_MEDIA_BYTES", "FreshchatMessaging"]

_LOG = logging.getLogger("byoc.freshchat")

DEFAULT_MAX_MEDIA_BYTES = 25 * 1024 * 1024
"""Freshchat's attachment limit; larger media stays a link."""

DEFAULT_FRESHNESS = FreshnessWindow(max_age=24 * 3600.0, max_skew=300.0)
"""Freshchat does not document how long it retries a webhook (`X-Retry-Count` says it does): a
day covers any plausible schedule and stays well inside the bridge's 7-day dedupe."""

_KEY_HELP = (
    "set BYOC_FRESHCHAT_WEBHOOK_PUBLIC_KEY to the RSA public key shown on Freshchat's webhook "
    "settings page (Admin > Marketplace & Integrations > Conversation Webhooks), or set "
    "BYOC_FRESHCHAT_VERIFY_SIGNATURES=false to accept unsigned webhooks (unsafe: anyone who "
    "finds the URL can then message your users as an agent)"
)
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})

JsonObject = dict[str, Any]


class FreshchatMessaging(Messaging):
    """The Freshchat help desk, as the bridge sees it.

    - `channel_id`: the Freshchat channel (topic/inbox) new conversations go to; None picks the
      first enabled one on first use.
    - `webhook_public_key`: the RSA key that verifies `X-Freshchat-Signature`. Until it is
      given, every Freshchat webhook is refused (401) and `webhook_key_missing` is True: the
      key appears in Freshchat only once the bridge's URL is pasted there.
      `verify_signatures=False` accepts unsigned webhooks and logs a warning, because it lets
      anyone fake agent replies.
    - `app_id`, `assigned_group_id`: sent with new conversations when given.
    - `http`: an httpx client to share (it stays the caller's to close).
    - `max_media_bytes`, `media_timeout`: bounds of a `rehost` download.
    - `freshness`: how old a Conversation Webhook's `action_time` may be
      (`BYOC_FRESHCHAT_MAX_WEBHOOK_AGE`, default a day) and how far ahead
      (`BYOC_FRESHCHAT_WEBHOOK_CLOCK_SKEW`, 5 minutes); `clock` tells the time.
    """

    title = "Freshchat"
    webhook_help = (
        "Paste this URL in Freshchat: Admin > Marketplace & Integrations > Conversation "
        "Webhooks, tick Message Create (and the conversation events), then copy the page's "
        "public key into BYOC_FRESHCHAT_WEBHOOK_PUBLIC_KEY."
    )

    def __init__(
        self,
        *,
        api_url: str,
        token: str,
        channel_id: str | None = None,
        webhook_public_key: str | None = None,
        verify_signatures: bool = True,
        app_id: str | None = None,
        assigned_group_id: str | None = None,
        http: httpx.AsyncClient | None = None,
        timeout: float = 15.0,
        max_media_bytes: int = DEFAULT_MAX_MEDIA_BYTES,
        media_timeout: float = 60.0,
        freshness: FreshnessWindow = DEFAULT_FRESHNESS,
        clock: Clock | None = None,
    ) -> None:
        self.freshness = freshness
        self._clock: Clock = clock or SystemClock()
        self._public_key: RSAPublicKey | None = None
        # Freshchat shows the key only once the bridge's URL is pasted in its webhook settings,
        # which comes after the bridge is up: until then the bridge runs and refuses (never
        # accepts unchecked) the help desk's webhooks.
        self.webhook_key_missing = verify_signatures and not (webhook_public_key or "").strip()
        if self.webhook_key_missing:
            _LOG.warning(
                "Freshchat webhooks are refused until the webhook public key is set; %s",
                _KEY_HELP,
            )
        elif verify_signatures:
            self._public_key = load_public_key(webhook_public_key or "")
        else:
            _LOG.warning(
                "Freshchat webhook signatures are NOT verified "
                "(BYOC_FRESHCHAT_VERIFY_SIGNATURES=false): anyone who can reach the messaging "
                "webhook URL can send messages to your users as an agent"
            )
        self._client = FreshchatClient(api_url, token, http=http, timeout=timeout)
        self._channel_id = channel_id.strip() if channel_id and channel_id.strip() else None
        self._channel_lock = asyncio.Lock()
        self._app_id = app_id or None
        self._assigned_group_id = assigned_group_id or None
        self.max_media_bytes = max_media_bytes
        self._media_timeout = media_timeout

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str],
        *,
        http: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
    ) -> Self:
        """Build from `BYOC_FRESHCHAT_*` settings; a missing or wrong one names its fix.

        Required: `BYOC_FRESHCHAT_API_URL`, `BYOC_FRESHCHAT_API_TOKEN`,
        `BYOC_FRESHCHAT_WEBHOOK_PUBLIC_KEY` (unless `BYOC_FRESHCHAT_VERIFY_SIGNATURES` is
        false/0/no/off). Optional: `BYOC_FRESHCHAT_CHANNEL_ID`, `BYOC_FRESHCHAT_APP_ID`,
        `BYOC_FRESHCHAT_ASSIGNED_GROUP_ID`, `BYOC_FRESHCHAT_MAX_WEBHOOK_AGE`,
        `BYOC_FRESHCHAT_WEBHOOK_CLOCK_SKEW`.
        """
        return cls(
            api_url=require_setting(
                env,
                "BYOC_FRESHCHAT_API_URL",
                "set it to your account's API URL, e.g. https://<account>.freshchat.com/v2 "
                "(or https://api.freshchat.com/v2, https://api.eu.freshchat.com/v2, ...)",
            ),
            token=require_setting(
                env,
                "BYOC_FRESHCHAT_API_TOKEN",
                "copy a token from Freshchat Admin > API Tokens (a new token revokes the old one)",
            ),
            channel_id=_optional(env, "BYOC_FRESHCHAT_CHANNEL_ID"),
            webhook_public_key=_optional(env, "BYOC_FRESHCHAT_WEBHOOK_PUBLIC_KEY"),
            verify_signatures=_flag(env, "BYOC_FRESHCHAT_VERIFY_SIGNATURES", default=True),
            app_id=_optional(env, "BYOC_FRESHCHAT_APP_ID"),
            assigned_group_id=_optional(env, "BYOC_FRESHCHAT_ASSIGNED_GROUP_ID"),
            http=http,
            freshness=FreshnessWindow.from_env(
                env,
                "BYOC_FRESHCHAT_MAX_WEBHOOK_AGE",
                "BYOC_FRESHCHAT_WEBHOOK_CLOCK_SKEW",
                default=DEFAULT_FRESHNESS,
            ),
            clock=clock,
        )

    @property
    @override
    def verifies_signatures(self) -> bool:
        # Without a key yet every webhook is refused: nothing unchecked gets in.
        return self._public_key is not None or self.webhook_key_missing

    @property
    def client(self) -> FreshchatClient:
        """The REST client, for calls outside the `Messaging` contract."""
        return self._client

    # -- users ---------------------------------------------------------------------------------

    @override
    async def find_user(self, reference_id: str) -> HelpdeskUser | None:
        answer = await self._client.find_users(reference_id)
        users = [
            u
            for u in _list(answer, "users", "GET /users")
            if isinstance(u, dict) and u.get("reference_id") in (None, reference_id)
        ]
        if not users:
            return None
        # Concurrent first messages can leave several users with one reference_id: always
        # settle on the same one, the oldest.
        oldest = min(users, key=lambda u: _created(u.get("created_time")))
        return _user(oldest, "GET /users")

    @override
    async def create_user(self, reference_id: str, profile: Profile | None) -> HelpdeskUser:
        body: JsonObject = {"reference_id": reference_id}
        if profile is not None:
            body.update(_profile_fields(profile))
        answer = await self._client.create_user(body)
        return _user(answer, "POST /users", reference_id=reference_id)

    @override
    async def get_user(self, user_id: str) -> HelpdeskUser:
        return _user(await self._client.get_user(user_id), f"GET /users/{user_id}")

    # -- conversations -------------------------------------------------------------------------

    @override
    async def list_conversations(self, user_id: str) -> list[str]:
        answer = await self._client.list_user_conversations(user_id)
        # `{}` and a missing list both mean "none" (the reference saw only the full shape).
        ids: list[str] = []
        for item in answer.get("conversations") or []:
            ident = item.get("id") if isinstance(item, dict) else item
            if isinstance(ident, str | int) and not isinstance(ident, bool) and str(ident):
                ids.append(str(ident))
        return ids

    @override
    async def create_conversation(self, user_id: str, parts: Sequence[Part]) -> Posted:
        channel_id = await self._channel()
        message = self._message_body(user_id, parts)
        message["channel_id"] = channel_id
        body: JsonObject = {
            "status": "new",
            "channel_id": channel_id,
            "users": [{"id": user_id}],
            "messages": [message],
        }
        if self._app_id:
            body["app_id"] = self._app_id
        if self._assigned_group_id:
            body["assigned_group_id"] = self._assigned_group_id
        answer = await self._client.create_conversation(body)
        conversation_id = _text(answer.get("conversation_id")) or _text(answer.get("id"))
        if not conversation_id:
            # Created, but unusable: retrying would make a second conversation.
            raise PermanentError("Freshchat POST /conversations answered without a conversation id")
        echoed = answer.get("messages")
        first = echoed[0] if isinstance(echoed, list) and echoed else None
        message_id = _text(first.get("id")) if isinstance(first, dict) else None
        return Posted(conversation_id=conversation_id, message_id=message_id or "")

    @override
    async def post_message(
        self, conversation_id: str, user_id: str, parts: Sequence[Part]
    ) -> Posted:
        answer = await self._client.post_message(
            conversation_id, self._message_body(user_id, parts)
        )
        # The message is posted: a missing id must not turn into a retry (a duplicate).
        return Posted(conversation_id=conversation_id, message_id=_text(answer.get("id")) or "")

    @override
    async def find_posted(
        self, conversation_id: str, user_id: str, parts: Sequence[Part], since: datetime
    ) -> list[Posted]:
        # One page (newest first) is enough: only the lane's head can be in doubt, and the
        # user's later messages wait behind it.
        answer = await self._client.list_messages(conversation_id)
        wanted = _canonical(self._message_body(user_id, parts)["message_parts"])
        cutoff = since.astimezone(timezone.utc).replace(tzinfo=None)
        found = []
        for message in _list(answer, "messages", "GET /conversations/{id}/messages"):
            if not isinstance(message, dict) or message.get("actor_type") != "user":
                continue
            if _text(message.get("actor_id")) != user_id:
                continue
            if _created(message.get("created_time")) < cutoff:
                break  # newest first: everything after this is older still
            if _canonical(message.get("message_parts")) == wanted:
                message_id = _text(message.get("id")) or ""
                found.append(Posted(conversation_id=conversation_id, message_id=message_id))
        return found

    def _message_body(self, user_id: str, parts: Sequence[Part]) -> JsonObject:
        message_parts, reply_parts = to_freshchat(parts)
        body: JsonObject = {
            "message_parts": message_parts,
            "actor_type": "user",
            "actor_id": user_id,
            "message_type": "normal",
        }
        if reply_parts:
            body["reply_parts"] = reply_parts
        if self._app_id:
            body["app_id"] = self._app_id
        return body

    async def _channel(self) -> str:
        if self._channel_id is None:
            async with self._channel_lock:
                if self._channel_id is None:
                    self._channel_id = await self._first_enabled_channel()
        return self._channel_id

    async def _first_enabled_channel(self) -> str:
        for channel in _list(await self._client.list_channels(), "channels", "GET /channels"):
            if not isinstance(channel, dict) or channel.get("enabled") is False:
                continue
            ident = _text(channel.get("id"))
            if ident:
                _LOG.info(
                    "new Freshchat conversations go to channel %r (%s); set "
                    "BYOC_FRESHCHAT_CHANNEL_ID to choose another",
                    channel.get("name"),
                    ident,
                )
                return ident
        raise ConfigurationError(
            "Freshchat has no enabled channel for new conversations; enable one under Admin > "
            "Channels (Topics) or set BYOC_FRESHCHAT_CHANNEL_ID to the id of the channel to use"
        )

    # -- webhooks ------------------------------------------------------------------------------

    @override
    async def parse_webhook(self, request: WebhookRequest) -> Sequence[MessagingEvent]:
        if self.webhook_key_missing:
            raise SignatureError(
                f"no Freshchat webhook public key is set, so this webhook cannot be verified; "
                f"{_KEY_HELP}"
            )
        if self._public_key is not None:
            verify_signature(self._public_key, request.body, request.header(SIGNATURE_HEADER))
        payload = load_webhook(request.body)
        self.freshness.check(
            webhook_time(payload), now=self._clock.time(), what="Freshchat webhook"
        )
        return parse_webhook_payload(payload)

    # -- media ---------------------------------------------------------------------------------

    @override
    async def rehost(self, part: Part) -> Part:
        """Copy an image, video or file into Freshchat: images through `/images/upload`
        (`url` becomes Freshchat's, `helpdesk_ref` the upload id), videos and files through
        `/files/upload` (`helpdesk_ref` is the file hash). Other parts come back unchanged.

        Raises a `DeliveryError` (`RetryableError` or `PermanentError`) when the download or the
        upload fails; the caller keeps the original link then.
        """
        if not isinstance(part, Image | Video | File) or part.helpdesk_ref:
            return part
        fetched = await download(
            self._client.http,
            part.url,
            max_bytes=self.max_media_bytes,
            timeout=self._media_timeout,
        )
        return await self._upload(part, fetched.content, fetched.content_type)

    @override
    async def rehost_media(self, part: MediaPart, media: MediaStream) -> Part:
        """Upload media the channel fetched with its own credentials, as `rehost` does with
        what it downloads; the same bounds apply (`max_media_bytes`, `media_timeout`)."""
        content = await read_within(media, self._media_timeout)
        return await self._upload(part, content, media.content_type)

    async def _upload(self, part: MediaPart, content: bytes, served_type: str | None) -> Part:
        name = _upload_name(part)
        content_type = _content_type(part, served_type, name)
        try:
            if isinstance(part, Image):
                return await self._upload_image(part, name, content, content_type)
            return await self._upload_file(part, name, content, content_type)
        except ConfigurationError as exc:
            # An account that may not upload (plan, role) can still take the link.
            raise PermanentError(f"Freshchat refused the upload: {exc}") from exc

    async def _upload_image(
        self, part: Image, name: str, content: bytes, content_type: str
    ) -> Image:
        answer = await self._client.upload_image(name, content, content_type)
        url = _text(answer.get("url"))
        if not url:
            raise PermanentError("Freshchat POST /images/upload answered without a url")
        return attrs.evolve(
            part,
            url=url,
            helpdesk_ref=_text(answer.get("id")) or url,
            mime_type=content_type,
            size=len(content),
            name=part.name or name,
        )

    async def _upload_file(
        self, part: Video | File, name: str, content: bytes, content_type: str
    ) -> Video | File:
        answer = await self._client.upload_file(name, content, content_type)
        file_hash = _file_hash(answer)
        if not file_hash:
            raise PermanentError("Freshchat POST /files/upload answered without a file_hash")
        if isinstance(part, Video):
            return attrs.evolve(
                part, helpdesk_ref=file_hash, mime_type=content_type, size=len(content)
            )
        return attrs.evolve(
            part, helpdesk_ref=file_hash, mime_type=content_type, size=len(content), name=name
        )

    # -- lifecycle -----------------------------------------------------------------------------

    @override
    async def check(self) -> AccountCheck:
        """The account configuration (`GET /accounts/configuration`): proves URL and token work.

        Freshchat does not tell where its webhooks go, so `reports_webhook` is False.
        """
        account = await self._client.account_configuration()
        name = _text(account.get("account_domain")) or _text(account.get("account_id"))
        return AccountCheck(account=name)

    @override
    async def aclose(self) -> None:
        await self._client.aclose()


def _optional(env: Mapping[str, str], key: str) -> str | None:
    return env.get(key, "").strip() or None


def _flag(env: Mapping[str, str], key: str, *, default: bool) -> bool:
    raw = env.get(key, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigurationError(f"{key} must be true or false (got {raw!r})")


def _text(value: object) -> str | None:
    """An id or string from a Freshchat answer (numbers become their decimal string)."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _list(answer: JsonObject, key: str, what: str) -> list[Any]:
    value = answer.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise PermanentError(f"Freshchat {what} answered with `{key}` that is not a list")
    return value


def _user(answer: JsonObject, what: str, *, reference_id: str | None = None) -> HelpdeskUser:
    ident = _text(answer.get("id"))
    if not ident:
        raise PermanentError(f"Freshchat {what} answered without a user id")
    return HelpdeskUser(id=ident, reference_id=_text(answer.get("reference_id")) or reference_id)


def _created(value: object) -> datetime:
    # Users without a readable created_time sort last; ties keep Freshchat's order.
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if moment.tzinfo is not None:
                moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
            return moment
        except (ValueError, OverflowError):
            pass
    return datetime.max


def _canonical(value: object) -> str:
    """Message parts as comparable text: key order and null-valued keys do not matter."""

    def strip(item: object) -> object:
        if isinstance(item, dict):
            return {k: strip(v) for k, v in item.items() if v is not None}
        if isinstance(item, list):
            return [strip(v) for v in item]
        return item

    return json.dumps(strip(value), sort_keys=True, ensure_ascii=False)


def _profile_fields(profile: Profile) -> JsonObject:
    fields: JsonObject = {}
    names = (profile.name or "").split(None, 1)
    if names:
        fields["first_name"] = names[0]
    if len(names) > 1:
        fields["last_name"] = names[1]
    if profile.avatar_url:
        fields["avatar"] = {"url": profile.avatar_url}
    properties = [
        {"name": name, "value": value}
        for name, value in (("language", profile.language), ("country", profile.country))
        if value
    ]
    if properties:
        fields["properties"] = properties
    return fields


def _upload_name(part: Image | Video | File) -> str:
    if isinstance(part, File) and part.name and part.name != "file":
        return part.name
    if isinstance(part, Image) and part.name:
        return part.name
    fallback = {Image: "image", Video: "video"}.get(type(part), "file")
    return filename_from_url(part.url, fallback)


def _content_type(part: Image | Video | File, served: str | None, name: str) -> str:
    """The media type to upload with: the channel's, else the server's or the file name's when
    they are specific and fit the kind of part, else a safe default for that kind."""
    if part.mime_type:
        return part.mime_type
    kind = {Image: "image/", Video: "video/"}.get(type(part), "")
    guessed = mimetypes.guess_type(name, strict=False)[0]
    for candidate in (served, guessed):
        if candidate and candidate != "application/octet-stream" and candidate.startswith(kind):
            return candidate
    return {Image: "image/jpeg", Video: "video/mp4"}.get(type(part), "application/octet-stream")


def _file_hash(answer: JsonObject) -> str | None:
    # Upload answers vary between accounts: top level, under `file` or `data`, snake or camel.
    for holder in (answer, answer.get("file"), answer.get("data")):
        if isinstance(holder, dict):
            found = _text(holder.get("file_hash")) or _text(holder.get("fileHash"))
            if found:
                return found
    return None
