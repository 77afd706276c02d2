"""HappyTalk, a licensed 상담톡 dealer: its webhook, its send API and its answers.

Everything HappyTalk-specific lives here. The wire format is the one a real Freshchat–KakaoTalk
marketplace app uses with HappyTalk:

- **Inbound webhook** (HappyTalk → bridge): `{"user_key", "sender_key", "serial_number",
  "message_type": "TX"|"IM"|"FI", "message"}`. The same app also reads a second spelling,
  `{"type": "text"|"photo"|"file", "content": "<text or URL>" | {"url": ...}, "session_id",
  "time"}`; HappyTalk's own documentation of this webhook was not found, so both are accepted,
  and so are video (`VI`/`video`) and audio (`AU`/`audio`/`voice`: a file) messages.
  `serial_number` is the message's id: the bridge dedupes redeliveries on it.
- **Send** `POST {api}/v1/chat/write` with headers `HT-Client-Id` / `HT-Client-Secret` and
  `{"user_key" ≤20, "sender_key" ≤40, "serial_number" ≤30 unique, "message_type",
  "message" ≤1000 | "image_url" | "file_url" + "file_name" + "file_size"}`.
- **Session end** `POST {api}/kakaoWebhook/v3/bzc/chat/endWithBot` `{"user_key", "sender_key",
  "bot_event"?}` → `{"code": 0, "session_id"}` or `{"code": -501, "message":
  "InvalidSenderException(...)"}` (the documented v3 end call; the v1 API documents none).
- **Uploads**: 상담톡 sends only images and files stored on Kakao's servers (`image_url` /
  `file_url` "must be files already uploaded to Kakao via an upload API"). HappyTalk's upload
  calls take multipart forms with the same headers: `POST {api}/kakaoWebhook/v3/bzc/image/upload`
  (`sender_key`, `image`) → `{"code": "0000", "image": "<Kakao URL>"}`, and
  `POST {api}/kakaoWebhook/v3/bzc/file/upload` (`sender_key`, `file`, `file_type` file|audio|
  video) → `{"code": "0000", "file": "<Kakao URL>", "name", "size"}`; failures like
  `{"code": "-505", "message": "InvalidImageSizeException"}` (HappyTalk developer center,
  KakaoWebhook/Upload). So an agent's picture, file or video is downloaded from the help desk,
  uploaded, and sent as `IM` / `FI` with the stored URL; media that cannot be uploaded goes as a
  text with its link.

Buttons and quick replies (`LI` messages with `links` / `supplement`) have no documented
shape here, so they are sent as text.

The webhook is not signed: the channel's secret path authenticates it. Its `time` still dates
it, so one older than the freshness window (`BYOC_KAKAO_MAX_WEBHOOK_AGE`, default a day: the
dealer's retry schedule is undocumented) is refused as a replay; a webhook without a readable
`time` cannot be dated and is not. Every field is length-bounded: ids at 200 characters, a
text at 20,000, URLs at 8,192.

The pure functions (`parse_webhook`, `outbound_payloads`) are separate from `HappyTalkDealer`,
which only adds HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import mimetypes
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote, urlsplit

import attrs
import httpx
from typing_extensions import Self

from byoc.bounds import MAX_URL as MAX_INBOUND_URL
from byoc.bounds import bounded, fits
from byoc.channel import require_setting
from byoc.clock import Clock, SystemClock
from byoc.errors import ConfigurationError, MalformedPayload, PermanentError
from byoc.freshness import FreshnessWindow
from byoc.http_client import HttpClientSlot
from byoc.media import MediaPart, MediaStream, download, open_media
from byoc.models import (
    Buttons,
    Contact,
    File,
    Image,
    InboundMessage,
    Link,
    Location,
    OutboundMessage,
    Part,
    QuickReplies,
    Sticker,
    Text,
    Video,
    utcnow,
)
from byoc.upstream import answer_text, raise_for_status, transport_errors
from byoc.webhook import WebhookResponse

from ..chunking import kakao_length, split_text
from ..fallback_text import (
    DEFAULT_LABELS,
    Labels,
    buttons_text,
    contact_text,
    link_text,
    location_text,
    quick_replies_text,
)
from .base import DealerOutbound, DealerPayload, MediaUpload

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_FRESHNESS",
    "END_PATH",
    "FILE_UPLOAD_PATH",
    "IMAGE_UPLOAD_PATH",
    "MAX_FILE_BYTES",
    "MAX_FILE_NAME",
    "MAX_IMAGE_BYTES",
    "MAX_INBOUND_TEXT",
    "MAX_MESSAGE",
    "MAX_SENDER_KEY",
    "MAX_SERIAL",
    "MAX_URL",
    "MAX_USER_KEY",
    "MESSAGE_TYPES",
    "WRITE_PATH",
    "HappyTalkDealer",
    "Stored",
    "outbound_payloads",
    "parse_webhook",
    "raise_for_answer",
    "serial_prefix",
    "uploaded_body",
    "webhook_time",
]

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://kakao-api.happytalk.io"
WRITE_PATH = "/v1/chat/write"
END_PATH = "/kakaoWebhook/v3/bzc/chat/endWithBot"
IMAGE_UPLOAD_PATH = "/kakaoWebhook/v3/bzc/image/upload"
FILE_UPLOAD_PATH = "/kakaoWebhook/v3/bzc/file/upload"

# KakaoTalk consultation images are capped at 5 MB; a bound for other files is not documented,
# 50 MB is taken [inferred].
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_FILE_BYTES = 50 * 1024 * 1024

MAX_USER_KEY = 20
MAX_SENDER_KEY = 40
MAX_SERIAL = 30
MAX_MESSAGE = 1000
MAX_URL = 1000
MAX_FILE_NAME = 1000
MESSAGE_TYPES = frozenset({"TX", "IM", "FI", "LI"})
MAX_INBOUND_TEXT = 20_000
"""The longest text accepted from a user: well over what a KakaoTalk message holds [inferred]."""
# Ids, and the type words of the webhook: HappyTalk's own are 20 to 30 characters.
_MAX_ID = 200
_MAX_KIND = 64
_MAX_DIGITS = 18

DEFAULT_FRESHNESS = FreshnessWindow(max_age=24 * 3600.0, max_skew=300.0)
"""HappyTalk does not document how long it retries a webhook: a day covers any plausible
schedule and stays well inside the bridge's 7-day dedupe."""

_KST = timezone(timedelta(hours=9))
_WHAT = "HappyTalk webhook"

# Both spellings of the message type, upper-cased: the documented codes and the words the
# marketplace app's test data uses.
_KINDS = {
    "TX": "TX",
    "TEXT": "TX",
    "IM": "IM",
    "IMAGE": "IM",
    "PHOTO": "IM",
    "FI": "FI",
    "FILE": "FI",
    "VI": "VI",
    "VIDEO": "VI",
    # Voice and audio messages are not in the marketplace app's shapes; taken as files.
    "AU": "AU",
    "AUDIO": "AU",
    "VOICE": "AU",
    "LI": "LI",
    "LINK": "LI",
}


# -- inbound -----------------------------------------------------------------------------------


def parse_webhook(
    payload: Mapping[str, Any], *, channel: str, sender_key: str | None = None
) -> list[InboundMessage]:
    """The user message in one HappyTalk webhook body; empty for a message with no content.

    Raises `MalformedPayload` for anything else than the shapes described in the module
    docstring, and when the webhook belongs to another sending profile than `sender_key`.
    """
    user_key = _identifier(payload, "user_key")
    serial = _identifier(payload, "serial_number")
    theirs = payload.get("sender_key")
    if sender_key and isinstance(theirs, str) and theirs and theirs != sender_key:
        # Neither key is quoted: a sender key is a credential, and this one could be anything.
        raise MalformedPayload(
            f"{_WHAT}: its sender_key is not this channel's sending profile; "
            "check BYOC_KAKAO_SENDER_KEY"
        )
    part = _part(_kind(payload), payload)
    if part is None:
        return []
    return [
        InboundMessage(
            channel=channel,
            user_id=user_key,
            message_id=serial,
            parts=(part,),
            timestamp=webhook_time(payload) or utcnow(),
        )
    ]


def _identifier(payload: Mapping[str, Any], field: str) -> str:
    value = payload.get(field)
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise MalformedPayload(f"{_WHAT}: {field} is missing or not a string")
    text = str(value).strip()
    if not text:
        raise MalformedPayload(f"{_WHAT}: {field} is empty")
    return bounded(text, _MAX_ID, f"{_WHAT}: {field}")


def _kind(payload: Mapping[str, Any]) -> str:
    raw = payload.get("message_type")
    if raw is None:
        raw = payload.get("type")
    if raw is None:
        return "TX"  # HappyTalk's documented default
    if not isinstance(raw, str):
        raise MalformedPayload(f"{_WHAT}: message_type must be a string")
    kind = bounded(raw.strip().upper(), _MAX_KIND, f"{_WHAT}: message_type")
    return _KINDS.get(kind, kind)


def _optional_str(payload: Mapping[str, Any], field: str, limit: int) -> str | None:
    value = payload.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedPayload(f"{_WHAT}: {field} must be a string")
    return bounded(value, limit, f"{_WHAT}: {field}", kakao_length)


def _number(value: Any) -> int | None:
    """A non-negative integer from an int or a string of digits; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value >= 0:
        return value
    # isdecimal, not isdigit: int() refuses digits like "²" that isdigit accepts. The length
    # bound keeps int() below its 4,300-digit limit, and any size or time within int64.
    if isinstance(value, str) and value.strip().isdecimal() and len(value.strip()) <= _MAX_DIGITS:
        return int(value.strip())
    return None


def _size(value: Any) -> int | None:
    size = _number(value)
    return size if size is not None and size < 2**63 else None


def _http_url(value: str | None, field: str) -> str | None:
    if value is None or not value.strip():
        return None
    url = bounded(value.strip(), MAX_INBOUND_URL, f"{_WHAT}: {field}")
    try:
        scheme = urlsplit(url).scheme
    except ValueError:  # e.g. an unclosed IPv6 bracket
        scheme = ""
    if scheme not in ("http", "https"):
        raise MalformedPayload(f"{_WHAT}: {field} is not an http(s) URL")
    return url


def _part(kind: str, payload: Mapping[str, Any]) -> Part | None:
    content = payload.get("content")
    if content is not None and not isinstance(content, (str, dict)):
        raise MalformedPayload(f"{_WHAT}: content must be a string or an object")
    details: Mapping[str, Any] = content if isinstance(content, dict) else {}

    text = _optional_str(payload, "message", MAX_INBOUND_TEXT)
    if text is None and isinstance(content, str) and kind not in ("IM", "FI", "VI", "AU"):
        text = None if kind != "TX" and _looks_like_url(content) else content
        if text is not None:
            text = bounded(text, MAX_INBOUND_TEXT, f"{_WHAT}: content", kakao_length)
    if text is None:
        text = _optional_str(details, "text", MAX_INBOUND_TEXT)

    if kind == "TX":
        return Text(text=text) if text else None

    url_field = {"IM": "image_url", "FI": "file_url", "VI": "video_url", "AU": "audio_url"}.get(
        kind, "url"
    )
    raw_url = _optional_str(payload, url_field, MAX_INBOUND_URL) or _optional_str(
        details, "url", MAX_INBOUND_URL
    )
    media = kind in ("IM", "FI", "VI", "AU")
    if raw_url is None and isinstance(content, str) and (media or _looks_like_url(content)):
        raw_url = content
    url = _http_url(raw_url, url_field)
    name = _file_name(payload.get("file_name")) or _file_name(details.get("name"))
    size = _size(payload.get("file_size", details.get("size")))

    if kind == "IM" and url:
        return Image(url=url, caption=text or "", name=name, size=size)
    if kind == "FI" and url:
        return File(url=url, name=name or _name_from_url(url, "file"), size=size)
    if kind == "VI" and url:
        return Video(url=url, caption=text or "", size=size)
    if kind == "AU" and url:
        name = name or _name_from_url(url, "audio.m4a")
        mime = mimetypes.guess_type(name, strict=False)[0]
        audio = mime if mime and mime.startswith("audio/") else "audio/mp4"
        return File(url=url, name=name, size=size, mime_type=audio)
    if media:
        raise MalformedPayload(f"{_WHAT}: a {kind} message without a media URL")
    # LI and types this module does not know: keep what the user sent, visibly.
    if url:
        return Link(url=url, title=text or None)
    if text:
        return Text(text=text)
    raise MalformedPayload(f"{_WHAT}: message type {kind!r} without text or URL")


def _looks_like_url(value: str) -> bool:
    return value.strip().lower().startswith(("http://", "https://"))


def _file_name(value: Any) -> str | None:
    """A file name the webhook gives; dropped (the URL names the file) when odd or overlong."""
    if not isinstance(value, str) or not value.strip() or not fits(value, MAX_FILE_NAME):
        return None
    return value


def _name_from_url(url: str, default: str) -> str:
    tail = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    return tail if tail and fits(tail, MAX_FILE_NAME) else default


def webhook_time(payload: Mapping[str, Any]) -> datetime | None:
    """When the dealer sent the webhook (its `time`: epoch seconds or milliseconds, or an ISO
    string, naive meaning Korean time); None when it has none that can be read."""
    value = payload.get("time")
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdecimal():
        value = _number(value)
    try:
        if isinstance(value, (int, float)):
            seconds = value / 1000 if value > 1e11 else value
            return datetime.fromtimestamp(seconds, tz=timezone.utc)
        if isinstance(value, str) and len(value) <= _MAX_KIND:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            # A dealer in Korea writing a bare local time means Korean time [inferred].
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=_KST)
    except (ValueError, OverflowError, OSError):
        pass
    return None


# -- outbound ----------------------------------------------------------------------------------


def serial_prefix(user_key: str, message_id: str) -> str:
    """A 20-character prefix that is the same for every attempt at the same message.

    Serial numbers are `<prefix>-<n>`; HappyTalk allows 30 characters and needs them unique.
    """
    digest = hashlib.sha256(f"{user_key}\x00{message_id}".encode()).digest()
    return base64.b32encode(digest).decode("ascii")[:20].lower()


_Entry = tuple[dict[str, Any], MediaUpload | None]


def _texts(text: str) -> list[_Entry]:
    return [
        ({"message_type": "TX", "message": chunk}, None)
        for chunk in split_text(text, MAX_MESSAGE)
        if chunk.strip()
    ]


def outbound_payloads(
    user_key: str,
    sender_key: str,
    message: OutboundMessage,
    labels: Labels = DEFAULT_LABELS,
) -> DealerOutbound:
    """An agent message as `/v1/chat/write` bodies, each within HappyTalk's limits.

    Text is split at 1,000 characters on word boundaries; pictures go as `IM` and files and
    videos as `FI`, each with the media to upload first (`DealerPayload.upload`: the body gets
    the stored file's URL then, see `uploaded_body`); everything else is degraded to text and
    named in `notes`.
    """
    if not user_key or kakao_length(user_key) > MAX_USER_KEY:
        raise PermanentError(f"{user_key!r} is not a HappyTalk user key (1-20 characters)")
    entries: list[_Entry] = []
    notes: list[str] = []
    for part in message.parts:
        entries.extend(_entries(part, notes, labels))
    prefix = serial_prefix(user_key, message.message_id)
    payloads = []
    for index, (entry, upload) in enumerate(entries):
        serial = f"{prefix}-{index}"
        body = {
            "user_key": user_key,
            "sender_key": sender_key,
            "serial_number": serial,
            **entry,
        }
        payloads.append(DealerPayload(serial=serial, body=body, upload=upload))
    return DealerOutbound(payloads=tuple(payloads), notes=tuple(notes))


def _entries(part: Part, notes: list[str], labels: Labels) -> list[_Entry]:
    if isinstance(part, Text):
        return _texts(part.text)
    if isinstance(part, Image):
        name = part.name or _name_from_url(part.url, "image.jpg")
        image = MediaUpload(url=part.url, kind="image", name=name, content_type=part.mime_type)
        return [({"message_type": "IM"}, image), *_texts(part.caption)]
    if isinstance(part, (File, Video)):
        return _file_entries(part)
    if isinstance(part, Link):
        return _texts(link_text(part))
    if isinstance(part, Location):
        return _texts(location_text(part, labels))
    if isinstance(part, Contact):
        return _texts(contact_text(part))
    if isinstance(part, Buttons):
        notes.append("buttons were sent as text with their links")
        return _texts(buttons_text(part))
    if isinstance(part, QuickReplies):
        notes.append("quick replies were sent as a text list")
        return _texts(quick_replies_text(part))
    if isinstance(part, Sticker):
        if part.url:
            notes.append("a sticker was sent as its picture")
            sticker = MediaUpload(url=part.url, kind="image", name="sticker.png")
            return [({"message_type": "IM"}, sticker)]
        notes.append("a sticker without a picture was sent as a label")
        return _texts(labels.sticker)
    raise TypeError(f"not a message part: {part!r}")


def _file_entries(part: File | Video) -> list[_Entry]:
    if isinstance(part, Video):
        name, caption = _name_from_url(part.url, "video.mp4"), part.caption
    else:
        name, caption = part.name, ""
    kind = (part.mime_type or mimetypes.guess_type(name, strict=False)[0] or "").split("/")[0]
    upload = MediaUpload(
        url=part.url,
        kind="file",
        name=_clip_name(name),
        content_type=part.mime_type,
        # HappyTalk's file categories; a video is a file to KakaoTalk consultation either way.
        file_type=kind if kind in ("video", "audio") else "file",
    )
    return [({"message_type": "FI"}, upload), *_texts(caption)]


def _clip_name(name: str) -> str:
    # A URL ending in "/ " names no file: Kakao refuses a blank file_name.
    name = name.strip() or "file"
    if kakao_length(name) <= MAX_FILE_NAME:
        return name
    return split_text(name, MAX_FILE_NAME)[0]


@attrs.frozen(kw_only=True)
class Stored:
    """A file HappyTalk keeps on Kakao's servers: its URL, and the name and size it reports."""

    url: str
    name: str | None = None
    size: int | None = None


def uploaded_body(body: Mapping[str, Any], upload: MediaUpload, stored: Stored) -> dict[str, Any]:
    """`body` completed with the stored copy of its media (the `IM` / `FI` fields)."""
    if upload.kind == "image":
        return {**body, "image_url": stored.url}
    return {
        **body,
        "file_url": stored.url,
        "file_name": _clip_name(stored.name or upload.name),
        "file_size": stored.size if stored.size is not None else 0,
    }


def _as_link(body: Mapping[str, Any], upload: MediaUpload) -> dict[str, Any]:
    """`body` as a text message with the media's link, for media that cannot be uploaded."""
    fields = {k: v for k, v in body.items() if k in ("user_key", "sender_key", "serial_number")}
    text = f"{upload.name}\n{upload.url}" if upload.kind == "file" else upload.url
    return {**fields, "message_type": "TX", "message": split_text(text, MAX_MESSAGE)[0]}


# -- HTTP --------------------------------------------------------------------------------------


class HappyTalkDealer:
    """HappyTalk's 상담톡 API (`Dealer` protocol).

    ```python
    dealer = HappyTalkDealer(client_id="...", client_secret="...", sender_key="...")
    channel = KakaoDealerChannel(dealer=dealer, webhook_secret=secrets.token_urlsafe(32))
    ```
    `api_url` may point at HappyTalk's test host (https://patch-kakao-api.happytalk.io) or at
    the bundled emulator. `bot_event` is the bot event block run when a session is ended.
    `freshness` bounds how old a webhook's `time` may be; `clock` tells the time.
    """

    name = "happytalk"

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        sender_key: str,
        api_url: str = DEFAULT_API_URL,
        bot_event: str | None = None,
        http: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
        media_timeout: float = 60.0,
        labels: Labels = DEFAULT_LABELS,
        freshness: FreshnessWindow = DEFAULT_FRESHNESS,
        clock: Clock | None = None,
    ) -> None:
        if not sender_key or kakao_length(sender_key) > MAX_SENDER_KEY:
            raise ConfigurationError(
                "BYOC_KAKAO_SENDER_KEY must be the 1-40 character sending-profile key "
                "HappyTalk issued for your KakaoTalk channel"
            )
        self.client_id = client_id
        self.client_secret = client_secret
        self.sender_key = sender_key
        self.api_url = api_url.rstrip("/")
        self.bot_event = bot_event
        self.labels = labels
        self.freshness = freshness
        self.clock: Clock = clock or SystemClock()
        self._slot = HttpClientSlot(http, timeout=timeout)
        self._timeout = timeout
        self._media_timeout = media_timeout

    @property
    def http(self) -> httpx.AsyncClient:
        """The HTTP client, created on first use (constructing a channel stays cheap)."""
        return self._slot.client

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        where = "HappyTalk's customer center issues it with your 상담톡 contract"
        return cls(
            client_id=require_setting(env, "BYOC_KAKAO_CLIENT_ID", where),
            client_secret=require_setting(env, "BYOC_KAKAO_CLIENT_SECRET", where),
            sender_key=require_setting(
                env,
                "BYOC_KAKAO_SENDER_KEY",
                "it is the sending-profile key of your KakaoTalk channel at HappyTalk",
            ),
            api_url=env.get("BYOC_KAKAO_DEALER_API_URL", "").strip() or DEFAULT_API_URL,
            bot_event=env.get("BYOC_KAKAO_END_BOT_EVENT", "").strip() or None,
            freshness=FreshnessWindow.from_env(
                env,
                "BYOC_KAKAO_MAX_WEBHOOK_AGE",
                "BYOC_KAKAO_WEBHOOK_CLOCK_SKEW",
                default=DEFAULT_FRESHNESS,
            ),
        )

    def parse_webhook(self, payload: Mapping[str, Any], *, channel: str) -> list[InboundMessage]:
        """The webhook's message, unless it was sent outside the freshness window
        (`StaleWebhook`) or is malformed (`MalformedPayload`)."""
        self.freshness.check(webhook_time(payload), now=self.clock.time(), what=_WHAT)
        return parse_webhook(payload, channel=channel, sender_key=self.sender_key)

    def webhook_ack(self) -> WebhookResponse:
        # HappyTalk's APIs answer `{"code": 0}` for success; the same is the likeliest thing it
        # accepts back [inferred: the webhook's expected answer is undocumented].
        return WebhookResponse.json({"code": 0})

    def outbound(self, user_key: str, message: OutboundMessage) -> DealerOutbound:
        return outbound_payloads(user_key, self.sender_key, message, self.labels)

    async def deliver(self, payload: DealerPayload) -> None:
        body: Mapping[str, Any] = payload.body
        if payload.upload is not None:
            body = await self._with_upload(body, payload.upload)
        await self._post(WRITE_PATH, body, action="send a message")

    async def _with_upload(self, body: Mapping[str, Any], upload: MediaUpload) -> dict[str, Any]:
        """`body` with its media uploaded; with the media's link when it cannot be (too big,
        gone, refused by HappyTalk). Outages and throttling raise, for the bridge to retry."""
        image = upload.kind == "image"
        try:
            fetched = await download(
                self.http,
                upload.url,
                max_bytes=MAX_IMAGE_BYTES if image else MAX_FILE_BYTES,
                timeout=self._media_timeout,
            )
            stored = await self.upload(upload, fetched.content, fetched.content_type)
        except PermanentError as exc:
            log.warning(
                "HappyTalk: %s sent as a link, it could not be uploaded: %s", upload.name, exc
            )
            return _as_link(body, upload)
        if stored.size is None:
            stored = attrs.evolve(stored, size=len(fetched.content))
        return uploaded_body(body, upload, stored)

    async def upload(
        self, upload: MediaUpload, content: bytes, served_type: str | None = None
    ) -> Stored:
        """Store `content` on Kakao's servers through HappyTalk's image or file upload."""
        image = upload.kind == "image"
        content_type = (
            upload.content_type
            or served_type
            or mimetypes.guess_type(upload.name, strict=False)[0]
            or "application/octet-stream"
        )
        form = {"sender_key": self.sender_key}
        if not image:
            form["file_type"] = upload.file_type
        field = "image" if image else "file"
        answer = await self._post(
            IMAGE_UPLOAD_PATH if image else FILE_UPLOAD_PATH,
            None,
            form=form,
            files={field: (upload.name, content, content_type)},
            action=f"upload {upload.name}",
        )
        url = answer.get(field)
        if not isinstance(url, str) or not url.strip():
            raise PermanentError(f"HappyTalk's {field} upload answered without the stored URL")
        name = answer.get("name")
        return Stored(
            url=url.strip(),
            name=name if isinstance(name, str) and name.strip() else None,
            size=_size(answer.get("size")),
        )

    async def fetch_media(self, part: MediaPart, *, max_bytes: int) -> MediaStream:
        # The files users send are on Kakao's CDN behind plain (expiring) links.
        return await open_media(self.http, part.url, max_bytes=max_bytes)

    async def end_session(self, user_key: str) -> str | None:
        body: dict[str, Any] = {"user_key": user_key, "sender_key": self.sender_key}
        if self.bot_event:
            body["bot_event"] = self.bot_event
        answer = await self._post(END_PATH, body, action="end the session")
        session = answer.get("session_id")
        return str(session) if session is not None else None

    async def register_webhook(self, url: str) -> bool:
        # HappyTalk sets the 상담톡 webhook URL up through its customer center, not an API.
        return False

    async def unregister_webhook(self) -> None:
        return None

    def registration_instructions(self, url: str) -> str:
        # The sender key is a credential: named by its setting, never shown.
        return (
            "Send this URL to HappyTalk's customer center (or enter it in the HappyTalk "
            "partner console) as the 상담톡 message-receive (webhook) URL of your sending "
            "profile (the one BYOC_KAKAO_SENDER_KEY holds). It contains the webhook secret: "
            "keep it private."
        )

    async def aclose(self) -> None:
        await self._slot.aclose()

    async def _post(
        self,
        path: str,
        body: Mapping[str, Any] | None,
        *,
        action: str,
        form: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> dict[str, Any]:
        """POST `body` as JSON, or `form` and `files` as multipart (the upload calls)."""
        headers = {"HT-Client-Id": self.client_id, "HT-Client-Secret": self.client_secret}
        if body is not None:
            headers["Content-Type"] = "application/json; charset=UTF-8"
        with transport_errors(
            f"HappyTalk's API to {action}", url_setting="BYOC_KAKAO_DEALER_API_URL"
        ):
            response = await self.http.post(
                self.api_url + path,
                content=None if body is None else json.dumps(body, ensure_ascii=False).encode(),
                data=form,
                files=files,
                headers=headers,
                timeout=self._timeout,
            )
        return raise_for_answer(
            response, action=action, secrets=(self.client_secret, self.sender_key)
        )


_SUCCESS_CODES = ("", "0", "0000", "200")


def raise_for_answer(
    response: httpx.Response, *, action: str, secrets: Sequence[str] = ()
) -> dict[str, Any]:
    """HappyTalk's answer as a dict, or the error it means.

    401/403 → `ConfigurationError` (client id/secret); an invalid sending profile →
    `ConfigurationError` (sender key); 429 → `RateLimited`; 5xx → `RetryableError`; any other
    refusal (4xx, or a non-zero `code` in a 2xx body) → `PermanentError`. What HappyTalk said
    is quoted without `secrets` (the client secret, the sender key: its exception texts name
    the sending profile) or any other credential.
    """
    status = response.status_code
    body = _json_object(response)
    code = body.get("code")
    # Success is code 0 (v1, session end) or "0000" (the upload calls). Decided before anything
    # is quoted: a delivered reply pays for no redaction pass over HappyTalk's words.
    if (
        status < 400
        and ("" if code is None else str(code).strip()) in _SUCCESS_CODES
        and body.get("result") != "fail"
    ):
        return body
    code_text = answer_text(str(code), secrets=secrets, limit=40) if code is not None else ""
    said = body.get("message") or body.get("msg") or ""
    message = answer_text(str(said), secrets=secrets) if said else ""
    detail = f"HTTP {status}" + (f", code {code_text}" if code_text else "")
    detail += f": {message}" if message else ""

    if status in (401, 403, 408, 429) or status >= 500:
        raise_for_status(
            response,
            f"HappyTalk failed to {action} ({detail})",
            credentials="check BYOC_KAKAO_CLIENT_ID and BYOC_KAKAO_CLIENT_SECRET against "
            "HappyTalk's customer center",
        )
    if code_text == "-501" or "InvalidSender" in message:
        raise ConfigurationError(
            f"HappyTalk does not know the sending profile ({detail}); check BYOC_KAKAO_SENDER_KEY"
        )
    raise PermanentError(f"HappyTalk refused to {action} ({detail})")


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        value = response.json()
    except (ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}
