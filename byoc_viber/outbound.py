"""Agent replies → Viber `send_message` bodies, and sending them.

`map_message` is pure: parts in, bodies and notes out, every body within Viber's limits
(`byoc_viber.limits`). What Viber cannot show is split or degraded visibly, never dropped:

| part | Viber message | degrades to |
|---|---|---|
| `Text` | `text`, split at word boundaries over 7,000 chars / 30 KB | — |
| `Image` | `picture` (caption ≤ 768, the rest as text) | file: not .jpg/.png/.gif, over 1 MB |
| `Video` | `video` (needs its size) | file: not .mp4, over 180 s; link: over 26 MB |
| `File` | `file` (needs its size and name) | link: forbidden type, over 50 MB, no size |
| `Location` | `location` | text with the coordinates when off the map |
| `Contact` | `contact` (name ≤ 28) | text when the phone is over 18 characters |
| `Sticker` | `sticker` (Viber's numeric ids) | the sticker's picture, or text |
| `Link` | `url` (≤ 2,000) | text (also when it has a title) |
| `Buttons` | `rich_media` card of open-url buttons (intro text before it) | text: no http(s) URL |
| `QuickReplies` | one keyboard of reply buttons on the last message | text beyond 12 buttons |

URL buttons go in a rich media message, which stays in the chat; a keyboard shows only until
the next message. Its `alt_text` lists the links for Viber clients older than 6.7.

The Viber app shows the keyboard of the last message received, so the keyboard of a reply goes
on its last message, wherever the quick replies were among the parts. A reply button sends its
`ActionBody` as the user's text: that is the label the user tapped, and the payloads the labels
stand for travel in the messages' `tracking_data` (`byoc_viber.tracking`), so the tap reaches
the agent with its payload.

Sizes of videos and files come from the part or, when unknown, from `probe_media` (HEAD, then
a one-byte ranged GET); `wanted_sizes` says which URLs need one, so the mapper stays pure. The
media type found on the way names a file whose name and URL have no extension (a help desk's
upload URL): the user's phone opens `picture.png`, not `picture`.
"""

from __future__ import annotations

import html
import math
import mimetypes
import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import httpx

from byoc.models import (
    Buttons,
    Contact,
    File,
    Image,
    Link,
    Location,
    Part,
    QuickReplies,
    Sticker,
    Text,
    Video,
)
from byoc.transport import encode_json

from .api import ViberApi, encode_body
from .limits import (
    FORBIDDEN_FILE_EXTENSIONS,
    MAX_BUTTON_TEXT,
    MAX_CAPTION,
    MAX_CONTACT_NAME,
    MAX_FILE_NAME,
    MAX_FILE_SIZE,
    MAX_KEYBOARD_BUTTONS,
    MAX_PHONE,
    MAX_PICTURE_SIZE,
    MAX_REQUEST_BYTES,
    MAX_RICH_MEDIA_ALT_TEXT,
    MAX_RICH_MEDIA_CARDS,
    MAX_RICH_MEDIA_COLUMNS,
    MAX_RICH_MEDIA_ROWS,
    MAX_TEXT,
    MAX_URL,
    MAX_VIDEO_DURATION,
    MAX_VIDEO_SIZE,
    PICTURE_EXTENSIONS,
    VIDEO_EXTENSIONS,
    extension,
    viber_length,
)
from .tracking import encode_replies

__all__ = [
    "Mapped",
    "Probed",
    "Sender",
    "deliver",
    "map_message",
    "probe_media",
    "split_text",
    "wanted_sizes",
]

_STICKER_ID = re.compile(r"[0-9]{1,18}")
_CONTENT_RANGE = re.compile(r"bytes\s+\d+-\d+/(\d+)", re.IGNORECASE)
_UP_TO_LAST_SPACE = re.compile(r".*\s", re.DOTALL)


@attrs.frozen(kw_only=True)
class Sender:
    """Who the messages are from: `sender.name` (≤ 28 characters) and an optional avatar URL."""

    name: str
    avatar: str | None = None

    def as_json(self) -> dict[str, str]:
        sender = {"name": self.name}
        if self.avatar:
            sender["avatar"] = self.avatar
        return sender


@attrs.frozen(kw_only=True)
class Mapped:
    """The `send_message` bodies for one reply, in order, and what was split or degraded."""

    bodies: tuple[dict[str, Any], ...]
    notes: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class Probed:
    """What the server of a media URL told about it; either may be unknown."""

    size: int | None = None
    content_type: str | None = None


def map_message(
    parts: Sequence[Part],
    *,
    sender: Sender,
    receiver: str | None,
    sizes: Mapping[str, int | None] | None = None,
    content_types: Mapping[str, str | None] | None = None,
) -> Mapped:
    """Map `parts` to `send_message` bodies.

    `receiver` is None for a welcome message (the answer to `conversation_started`), which Viber
    takes without one. `sizes` holds the byte sizes found for the URLs `wanted_sizes` listed,
    `content_types` their media types, when known. The bodies carry `tracking_data` when quick
    replies with payloads are shown (see `byoc_viber.tracking`).
    """
    builder = _Builder(sizes or {}, content_types or {})
    for part in parts:
        builder.add(part)
    common: dict[str, Any] = {}
    if receiver is not None:
        common["receiver"] = receiver
    common["sender"] = sender.as_json()
    tracking_data, left_out = encode_replies(builder.reply_payloads)
    if tracking_data is not None:
        common["tracking_data"] = tracking_data
    for action_body in left_out:
        builder.notes.append(
            f"the payload of quick reply {action_body!r} did not fit Viber's tracking data; "
            "a tap on it comes back as its label alone"
        )
    return builder.finish(common)


def wanted_sizes(parts: Sequence[Part]) -> list[str]:
    """The URLs whose byte size `map_message` needs and the parts do not tell."""
    builder = _Builder({}, {})
    for part in parts:
        builder.add(part)
    return list(builder.missing_sizes)


def split_text(text: str, max_length: int = MAX_TEXT, max_bytes: int | None = None) -> list[str]:
    """Split `text` into pieces of at most `max_length` UTF-16 units and `max_bytes` JSON bytes.

    Pieces break at a line break in the second half of the allowed length, else at the last
    whitespace, else (one word longer than the limit) anywhere. The whitespace at a break is
    dropped; pieces of whitespace only are left out.
    """
    limit_bytes = MAX_REQUEST_BYTES if max_bytes is None else max_bytes
    if limit_bytes < 16 or max_length < 2:
        raise ValueError("split_text needs room for at least one character")
    pieces: list[str] = []
    rest = text
    while rest:
        head, rest = _take(rest, max_length, limit_bytes)
        if head.strip():
            pieces.append(head)
    return pieces


# -- sending ---------------------------------------------------------------------------------------


async def probe_media(http: httpx.AsyncClient, url: str) -> Probed:
    """The size in bytes and the media type of the resource at `url`, as far as they are found.

    Tries HEAD's `Content-Length` first; servers that do not answer HEAD (some signed-URL
    stores) get a GET for one byte, whose `Content-Range` carries the total.
    """
    try:
        head = await http.head(url, follow_redirects=True)
        if head.is_success:
            size = _content_length(head.headers)
            if size is not None:
                return Probed(size=size, content_type=_content_type(head.headers))
        ranged = {"Range": "bytes=0-0"}
        async with http.stream("GET", url, headers=ranged, follow_redirects=True) as response:
            content_type = _content_type(response.headers)
            if response.status_code == 206:
                match = _CONTENT_RANGE.fullmatch(response.headers.get("content-range", "").strip())
                size = int(match.group(1)) if match else None
                return Probed(size=size, content_type=content_type)
            if response.status_code == 200:
                # The server ignored the range: the length is the whole body, which stays unread.
                return Probed(size=_content_length(response.headers), content_type=content_type)
    except (httpx.HTTPError, httpx.InvalidURL):
        return Probed()
    return Probed()


async def deliver(api: ViberApi, bodies: Sequence[Mapping[str, Any]], sent: list[str]) -> None:
    """Send `bodies` in order, skipping the first `len(sent)` (sent by an earlier attempt).

    Each message token is appended to `sent` as soon as Viber accepts the body, so a caller
    that catches the error still knows how far it got.
    """
    for body in bodies[len(sent) :]:
        answer = await api.call("send_message", body)
        sent.append(_token(answer.get("message_token")))


def _token(value: object) -> str:
    """A message token as its exact decimal string ("" if Viber left it out)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return str(int(value))
    return ""


def _content_length(headers: httpx.Headers) -> int | None:
    value = headers.get("content-length", "").strip()
    return int(value) if value.isascii() and value.isdigit() else None


def _content_type(headers: httpx.Headers) -> str | None:
    value = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return value or None


# -- the mapper ------------------------------------------------------------------------------------


@attrs.define
class _Body:
    """A typed body before the common fields, with the text that replaces it if it cannot go."""

    fields: dict[str, Any]
    fallback: str


@attrs.frozen
class _Link:
    """A URL button, in a rich media message."""

    label: str
    url: str


@attrs.define
class _LinkCard:
    """URL buttons to send as rich media; laid out once the common fields are known."""

    links: list[_Link]


class _Builder:
    def __init__(
        self, sizes: Mapping[str, int | None], content_types: Mapping[str, str | None]
    ) -> None:
        self._sizes = sizes
        self._content_types = content_types
        self.items: list[str | _Body | _LinkCard] = []
        self.notes: list[str] = []
        self.buttons: list[dict[str, Any]] = []
        self.reply_payloads: dict[str, str] = {}
        self.missing_sizes: dict[str, None] = {}

    # -- collecting ---------------------------------------------------------------------------

    def add(self, part: Part) -> None:
        if isinstance(part, Text):
            self._text(part.text)
        elif isinstance(part, Image):
            self._image(part)
        elif isinstance(part, Video):
            self._video(part)
        elif isinstance(part, File):
            self._file(part)
        elif isinstance(part, Location):
            self._location(part)
        elif isinstance(part, Contact):
            self._contact(part)
        elif isinstance(part, Sticker):
            self._sticker(part)
        elif isinstance(part, Link):
            self._link(_clean(part.url), _clean(part.title or ""))
        elif isinstance(part, Buttons):
            self._buttons(part)
        elif isinstance(part, QuickReplies):
            self._quick_replies(part)
        else:
            # A part type newer than this mapper: say so rather than drop it.
            self._text(f"[{type(part).__name__}]")
            self.notes.append(f"a {type(part).__name__} part has no Viber form; sent its name")

    def _text(self, text: str) -> None:
        text = _clean(text)
        if text.strip():
            self.items.append(text)

    def _body(self, fallback: str, **fields: Any) -> None:
        self.items.append(_Body(fields=fields, fallback=fallback))

    def _size(self, url: str, known: int | None) -> int | None:
        if known is not None and known >= 0:
            return known
        size = self._sizes.get(url)
        if size is None:
            self.missing_sizes[url] = None
        return size

    def _as_link(self, url: str, label: str, why: str) -> None:
        self._text(f"{label}\n{url}" if label else url)
        self.notes.append(why)

    def _image(self, part: Image) -> None:
        url, caption = _clean(part.url), _clean(part.caption)
        label = part.name or _url_name(url) or "picture"
        if len(url) > MAX_URL:
            self._as_link(url, caption, f"{label} was sent as a link: its URL is too long")
            return
        as_file = File(url=url, name=label, mime_type=part.mime_type, size=part.size)
        if extension(url) not in PICTURE_EXTENSIONS:
            self.notes.append(f"{label} was sent as a file: Viber pictures are .jpg, .png or .gif")
            self._file(as_file, caption=caption)
            return
        if part.size is not None and part.size > MAX_PICTURE_SIZE:
            self.notes.append(
                f"{label} was sent as a file: it is over 1 MB, which iPhones do not show"
            )
            self._file(as_file, caption=caption)
            return
        head, rest = _take(caption, MAX_CAPTION, MAX_REQUEST_BYTES)
        if head.strip() == "":
            head = ""
        self._body(f"{head}\n{url}" if head else url, type="picture", text=head, media=url)
        if rest.strip():
            self._text(rest)
            self.notes.append("a picture caption over 768 characters went on as a text message")

    def _video(self, part: Video) -> None:
        url, caption = _clean(part.url), _clean(part.caption)
        label = _url_name(url) or "video"
        if len(url) > MAX_URL:
            self._as_link(url, caption, f"{label} was sent as a link: its URL is too long")
            return
        as_file = File(url=url, name=label, mime_type=part.mime_type, size=part.size)
        if extension(url) not in VIDEO_EXTENSIONS:
            self.notes.append(f"{label} was sent as a file: Viber plays only .mp4 videos")
            self._file(as_file, caption=caption)
            return
        if part.duration is not None and part.duration > MAX_VIDEO_DURATION:
            self.notes.append(f"{label} was sent as a file: Viber plays videos up to 180 s")
            self._file(as_file, caption=caption)
            return
        size = self._size(url, part.size)
        if size is None:
            why = f"{label} was sent as a link: its size could not be found"
            self._as_link(url, caption, why)
            return
        if size > MAX_VIDEO_SIZE:
            self._as_link(url, caption, f"{label} was sent as a link: it is over 26 MB")
            return
        fields: dict[str, Any] = {"type": "video", "media": url, "size": size}
        if part.duration is not None and part.duration >= 0:
            fields["duration"] = part.duration
        thumbnail = _clean(part.thumbnail_url or "")
        if thumbnail and len(thumbnail) <= MAX_URL and extension(thumbnail) in (".jpg", ".jpeg"):
            fields["thumbnail"] = thumbnail
        self._body(url, **fields)
        self._text(caption)

    def _file(self, part: File, caption: str = "") -> None:
        url = _clean(part.url)
        content_type = part.mime_type or self._content_types.get(url)
        name = _file_name(_clean(part.name), url, content_type)
        if len(url) > MAX_URL:
            self._as_link(url, caption or name, f"{name} was sent as a link: its URL is too long")
            return
        for ext in (extension(name), extension(url)):
            if ext in FORBIDDEN_FILE_EXTENSIONS:
                why = f"{name} was sent as a link: Viber does not deliver {ext} files"
                self._as_link(url, caption or name, why)
                return
        size = self._size(url, part.size)
        if size is None:
            why = f"{name} was sent as a link: its size could not be found"
            self._as_link(url, caption or name, why)
            return
        if size > MAX_FILE_SIZE:
            self._as_link(url, caption or name, f"{name} was sent as a link: it is over 50 MB")
            return
        self._body(f"{name}\n{url}", type="file", media=url, size=size, file_name=name)
        self._text(caption)

    def _location(self, part: Location) -> None:
        label = _clean(part.label or "")
        lat, lon = part.lat, part.lon
        on_map = math.isfinite(lat) and math.isfinite(lon) and abs(lat) <= 90 and abs(lon) <= 180
        if not on_map:
            self._text(f"Location: {lat}, {lon}\n{label}".rstrip())
            self.notes.append("a location outside the map was sent as text")
            return
        where = f"Location: {lat}, {lon}"
        self._body(where, type="location", location={"lat": lat, "lon": lon})
        self._text(label)

    def _contact(self, part: Contact) -> None:
        name, phone = _clean(part.name).strip(), _clean(part.phone).strip()
        if not phone or viber_length(phone) > MAX_PHONE:
            self._text(f"Contact: {name} {phone}".strip())
            self.notes.append(
                "a contact was sent as text: Viber needs a phone number of at most 18 characters"
            )
            return
        shown = _truncate(name or phone, MAX_CONTACT_NAME)
        if shown != (name or phone):
            self.notes.append("a contact name was shortened to Viber's 28 characters")
        self._body(
            f"Contact: {name} {phone}".strip(),
            type="contact",
            contact={"name": shown, "phone_number": phone},
        )

    def _sticker(self, part: Sticker) -> None:
        sticker_id = part.sticker_id.strip()
        if _STICKER_ID.fullmatch(sticker_id):
            self._body("[sticker]", type="sticker", sticker_id=int(sticker_id))
            return
        if part.url:
            self.notes.append(f"sticker {sticker_id!r} is not a Viber sticker; sent its picture")
            self._image(Image(url=part.url, name="sticker"))
            return
        self._text("[sticker]")
        self.notes.append(f"sticker {sticker_id!r} is not a Viber sticker; sent as [sticker]")

    def _link(self, url: str, title: str) -> None:
        if not title and url.strip() and len(url) <= MAX_URL:
            self._body(url, type="url", media=url)
            return
        self._text(f"{title}\n{url}" if title else url)

    def _buttons(self, part: Buttons) -> None:
        self._text(part.text)
        links: list[_Link] = []
        for button in part.buttons:
            label, url = _clean(button.label).strip(), _clean(button.url).strip()
            if not _is_http(url) or len(url) > MAX_URL:
                self._text(f"{label}: {url}" if label else url)
                self.notes.append(f"button {label!r} was sent as text: its URL cannot be opened")
                continue
            links.append(_Link(label=label or url, url=url))
        if links:
            self.items.append(_LinkCard(links=links))

    def _quick_replies(self, part: QuickReplies) -> None:
        self._text(part.text)
        for reply in part.replies:
            label = _clean(reply.label).strip()
            payload = _clean(reply.payload) if reply.payload is not None else None
            # The tap sends ActionBody as the user's text: the label, unless another button
            # of the keyboard already says it (or there is none), then the payload.
            action_body = label
            used = {b["ActionBody"] for b in self.buttons if b["ActionType"] == "reply"}
            if (not action_body or action_body in used) and payload and payload.strip():
                action_body = payload
            if not action_body.strip():
                self.notes.append("a quick reply without a label or payload was left out")
                continue
            if viber_length(action_body) > MAX_TEXT:
                action_body = _truncate(action_body, MAX_TEXT)
                self.notes.append(f"the text quick reply {label!r} sends was shortened")
            added = self._button(
                {
                    "Columns": 6,
                    "Rows": 1,
                    "ActionType": "reply",
                    "ActionBody": action_body,
                    "Text": _truncate(label or action_body, MAX_BUTTON_TEXT),
                },
                overflow=label or action_body,
            )
            if added and payload and payload.strip() and payload != action_body:
                self.reply_payloads.setdefault(action_body, payload)

    def _button(self, button: dict[str, Any], *, overflow: str) -> bool:
        if len(self.buttons) < MAX_KEYBOARD_BUTTONS:
            self.buttons.append(button)
            return True
        self._text(overflow)
        self.notes.append(
            f"Viber shows {MAX_KEYBOARD_BUTTONS} keyboard buttons; {overflow!r} was sent as text"
        )
        return False

    # -- assembling ---------------------------------------------------------------------------

    def finish(self, common: dict[str, Any]) -> Mapped:
        bodies: list[dict[str, Any]] = []
        for item in self.items:
            if isinstance(item, _LinkCard):
                bodies.extend(self._rich_media(item.links, common))
                continue
            if isinstance(item, _Body):
                body = {**common, **item.fields}
                if _fits(body):
                    bodies.append(body)
                    continue
                self.notes.append(f"a {item.fields['type']} message was too large; sent as text")
                text = _clean(item.fallback)
            else:
                text = item
            bodies.extend(self._text_bodies(text, common))
        if self.buttons:
            bodies.extend(self._keyboard(bodies, common))
        return Mapped(bodies=tuple(bodies), notes=tuple(self.notes))

    def _text_bodies(self, text: str, common: dict[str, Any]) -> list[dict[str, Any]]:
        overhead = len(encode_body({**common, "type": "text", "text": ""}))
        pieces = split_text(text, MAX_TEXT, MAX_REQUEST_BYTES - overhead)
        if len(pieces) > 1:
            self.notes.append(
                f"a text of {len(text)} characters was split into {len(pieces)} Viber messages"
            )
        return [{**common, "type": "text", "text": piece} for piece in pieces]

    def _rich_media(self, links: list[_Link], common: dict[str, Any]) -> list[dict[str, Any]]:
        """Rich media messages showing `links`: as many cards as needed, halved until each
        message fits 30 KB; a link that fits in none goes as text."""
        per_message = MAX_RICH_MEDIA_CARDS * MAX_RICH_MEDIA_ROWS
        pending = [links[i : i + per_message] for i in range(0, len(links), per_message)]
        bodies: list[dict[str, Any]] = []
        while pending:
            group = pending.pop(0)
            body = {**common, **_rich_media_fields(group)}
            if _fits(body):
                bodies.append(body)
            elif len(group) > 1:
                half = len(group) // 2
                pending[:0] = [group[:half], group[half:]]
            else:
                self.notes.append("a URL button was too large for rich media; sent as text")
                bodies.extend(self._text_bodies(_link_lines(group), common))
        return bodies

    def _keyboard(
        self, bodies: list[dict[str, Any]], common: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Attach the keyboard to the last body, or send it on its own; the extra bodies."""
        keyboard = {"Type": "keyboard", "DefaultHeight": False, "Buttons": self.buttons}
        if bodies:
            with_keyboard = {**bodies[-1], "keyboard": keyboard}
            if _fits(with_keyboard):
                bodies[-1] = with_keyboard
                return []
        buttons = list(self.buttons)
        dropped: list[dict[str, Any]] = []
        while buttons and not _fits({**common, "keyboard": {**keyboard, "Buttons": buttons}}):
            dropped.insert(0, buttons.pop())
        extra: list[dict[str, Any]] = []
        for button in dropped:
            shown = button["ActionBody"] if button["ActionType"] == "open-url" else button["Text"]
            extra.extend(self._text_bodies(shown, common))
        if dropped:
            self.notes.append("a keyboard was over 30 KB; its last buttons were sent as text")
        if buttons:
            extra.append({**common, "keyboard": {**keyboard, "Buttons": buttons}})
        return extra


# -- small text tools ------------------------------------------------------------------------------


def _clean(text: str) -> str:
    """`text` with lone surrogates (from broken JSON upstream) replaced, so it encodes as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A UTF-16 round trip joins valid surrogate pairs and replaces the lone ones.
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def _within(text: str, max_length: int, max_bytes: int) -> bool:
    size = len(encode_json(text)) - 2  # the text as a JSON string, without its quotes
    return size <= max_bytes and viber_length(text) <= max_length


def _take(text: str, max_length: int, max_bytes: int) -> tuple[str, str]:
    """The longest head of `text` within both limits, broken at whitespace, and the rest."""
    # A character is at least one UTF-16 unit, so no head is longer than max_length characters;
    # both measures grow with the head, so a binary search finds the longest that fits.
    high = min(len(text), max_length)
    if _within(text[:high], max_length, max_bytes):
        cut = high
    else:
        low = 0
        while low < high - 1:
            middle = (low + high) // 2
            if _within(text[:middle], max_length, max_bytes):
                low = middle
            else:
                high = middle
        cut = low
    if cut == len(text):
        return text, ""
    newline = text.rfind("\n", cut // 2, cut + 1)
    if newline > 0:
        return text[:newline], text[newline + 1 :]
    space = _UP_TO_LAST_SPACE.match(text, 0, cut + 1)
    if space is not None and space.end() > 1:
        index = space.end() - 1
        return text[:index], text[index + 1 :]
    return text[:cut], text[cut:]


def _truncate(text: str, max_length: int) -> str:
    if viber_length(text) <= max_length:
        return text
    head, _ = _take(text, max_length - 1, MAX_REQUEST_BYTES)
    if not head.strip():
        # No whitespace to break at within the limit: cut the word.
        head = text[: max_length - 1]
        while viber_length(head) > max_length - 1:
            head = head[:-1]
    return head + "…"


def _fits(body: Mapping[str, Any]) -> bool:
    return len(encode_body(body)) <= MAX_REQUEST_BYTES


def _rich_media_fields(links: Sequence[_Link]) -> dict[str, Any]:
    """A `rich_media` message of one open-url button per row, in cards of up to 7 rows.

    Cards share one grid: with `n` links in `c` cards, each card has `ceil(n / c)` rows and the
    last button of a shorter last card stretches to fill it.
    """
    cards = math.ceil(len(links) / MAX_RICH_MEDIA_ROWS)
    rows = math.ceil(len(links) / cards)
    buttons: list[dict[str, Any]] = []
    for start in range(0, len(links), rows):
        card = links[start : start + rows]
        for index, link in enumerate(card):
            last = index == len(card) - 1
            buttons.append(
                {
                    "Columns": MAX_RICH_MEDIA_COLUMNS,
                    "Rows": rows - len(card) + 1 if last else 1,
                    "ActionType": "open-url",
                    "ActionBody": link.url,
                    "Text": _rich_text(link.label),
                    "TextSize": "regular",
                    "TextVAlign": "middle",
                    "TextHAlign": "center",
                    "Silent": True,
                }
            )
    return {
        "type": "rich_media",
        "rich_media": {
            "Type": "rich_media",
            "ButtonsGroupColumns": MAX_RICH_MEDIA_COLUMNS,
            "ButtonsGroupRows": rows,
            "BgColor": "#FFFFFF",
            "Buttons": buttons,
        },
        "alt_text": _truncate(_link_lines(links), MAX_RICH_MEDIA_ALT_TEXT),
    }


def _rich_text(label: str) -> str:
    """A button text: rich media reads a few HTML tags, so the label's own `<&>` are escaped."""
    limit = MAX_BUTTON_TEXT
    while True:
        # Shortened before escaping, so no entity is cut in half.
        escaped = html.escape(_truncate(label, limit), quote=False)
        over = viber_length(escaped) - MAX_BUTTON_TEXT
        if over <= 0:
            return escaped
        limit = max(2, limit - over)


def _link_lines(links: Sequence[_Link]) -> str:
    return "\n".join(
        link.url if link.label == link.url else f"{link.label}: {link.url}" for link in links
    )


def _is_http(url: str) -> bool:
    return url.lower().startswith(("https://", "http://")) and len(url) > len("https://")


def _type_extension(content_type: str | None) -> str:
    """The usual extension of a specific media type ("image/png" → ".png"), or ""."""
    if not content_type or content_type == "application/octet-stream":
        return ""
    return mimetypes.guess_extension(content_type, strict=False) or ""


def _url_name(url: str) -> str:
    """The last path segment of `url` when it looks like a file name, else ""."""
    path = url.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    last = path.rsplit("/", 1)[-1] if "/" in path else ""
    return last if extension(last) else ""


def _file_name(name: str, url: str, content_type: str | None = None) -> str:
    """A `file_name` Viber takes: non-empty, ≤ 256, with an extension when one can be found
    (the URL's, else the one of `content_type`)."""
    name = name.strip() or _url_name(url) or "file"
    if not extension(name):
        found = extension(url) or _type_extension(content_type)
        if found and len(found) <= 16:
            name += found
    if viber_length(name) <= MAX_FILE_NAME:
        return name
    ext = extension(name)
    if len(ext) > 16:
        ext = ""
    stem = name[: len(name) - len(ext)]
    return _truncate(stem, MAX_FILE_NAME - len(ext)) + ext
