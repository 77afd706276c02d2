"""`TelegramEmulator`: the Bot API subset a bridge uses, with users who write to the bot.

```python
emulator = TelegramEmulator(webhook_client=network.client(), fetch_client=network.client())
telegram = TelegramChannel(bot_token=emulator.token, webhook_secret="s3cr3t-0123456789",
                           api_url=emulator.api_url, http=network.client())
await telegram.install("http://bridge.test/channels/telegram/webhook")
alice = emulator.user("Alice")
await emulator.send_text(alice, "hello")   # an update, posted with the secret header
await emulator.drain()                     # wait for deliveries instead of sleeping
```

## The Bot API, at `/bot<token>/<method>`

`getMe`, `setWebhook`, `deleteWebhook`, `getWebhookInfo`, `getFile`, `sendMessage`,
`sendPhoto`, `sendVideo`, `sendDocument`, `sendLocation`, `sendVenue`, `sendContact`,
`answerCallbackQuery`; parameters as JSON, a form, multipart (uploads) or the query string.
Answers are Telegram's envelopes: `{"ok": true, "result": ...}` or `{"ok": false,
"error_code", "description", "parameters"}` with the same HTTP status. A wrong token is 401,
an unknown method 404. Sends check the chat (400 `chat not found`), the user (403 `bot was
blocked by the user`), texts (1 to 4,096 characters), captions (1,024) and keyboards. Media
by URL is fetched as Telegram does: photos up to 5 MB, videos (MP4) up to 20 MB, documents
only as GIF, PDF or ZIP; uploads up to 10 MB (photos) or 50 MB. Files users sent are served
at `/file/bot<token>/<file_path>` (`getFile` refuses those over 20 MB).

Updates go to the webhook with `X-Telegram-Bot-Api-Secret-Token`, per chat in order, retried on
anything but 2xx (`webhook.py`); while no webhook is set they wait, as Telegram keeps them, for
a day. `getWebhookInfo` says how many wait (`pending_update_count`) and when and why the last
delivery failed (`last_error_date`, `last_error_message`).

## Control endpoints, under `/_emulator`

Listed in `control.py`: users, what they send (every kind above), edits, blocking, button
taps, redelivery of an update, what the bot sent, deliveries, faults.
"""

from __future__ import annotations

import hmac
import itertools
import json
import mimetypes
import secrets
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from email import message_from_bytes, policy
from typing import Any
from urllib.parse import parse_qsl

import attrs
import httpx
from typing_extensions import Self

from byoc.asgi import Receive, Scope, Send
from byoc.clock import Clock, SystemClock
from byoc.http_client import HttpClientSlot
from byoc.testing.routing import Request, Response, Router, json_response

from ..freshness import KEPT_FOR
from ..limits import MAX_CALLBACK_DATA, MAX_CAPTION, MAX_DOWNLOAD, MAX_TEXT, MAX_UPLOAD, SECRET
from .control import add_control_routes
from .users import SentMessage, TelegramUser
from .webhook import DEFAULT_RETRY_SCHEDULE, Delivery, Webhook, WebhookSender

__all__ = ["DEFAULT_TOKEN", "ApiError", "Fault", "StoredFile", "TelegramEmulator"]

DEFAULT_TOKEN = "123456789:emulator-token-0123456789abcdefABCDEF"
DEFAULT_UPDATES = ("message", "edited_message", "callback_query", "my_chat_member")
"""What a webhook gets when `allowed_updates` is left empty (those the bridge reads)."""
MAX_PHOTO_BY_URL = 5 * 1024 * 1024
MAX_PHOTO_UPLOAD = 10 * 1024 * 1024
_DOCUMENTS_BY_URL = frozenset({"image/gif", "application/pdf", "application/zip"})
# A 1x1 JPEG: what the smaller sizes of a photo hold, so a test can tell the original apart.
_THUMBNAIL = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")


class ApiError(Exception):
    """A Bot API refusal: `code` is the HTTP status and `error_code`."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def response(self) -> Response:
        if self.code >= 500:
            # What a proxy in front of the Bot API answers when it is down.
            page = f"<html><body><h1>{self.code} {self.description}</h1></body></html>"
            return Response(status=self.code, body=page.encode(), content_type="text/html")
        answer: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.retry_after is not None:
            answer["parameters"] = {"retry_after": self.retry_after}
        return json_response(answer, self.code)


@attrs.frozen(kw_only=True)
class Fault:
    """How the next call of a method fails."""

    error_code: int
    description: str
    retry_after: int | None = None


@attrs.frozen(kw_only=True)
class StoredFile:
    """A file on Telegram's servers: what `getFile` describes and the file route serves."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes = attrs.field(repr=lambda b: f"<{len(b)} bytes>")
    content_type: str

    def as_json(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
        }


@attrs.frozen(kw_only=True)
class _Upload:
    filename: str
    content_type: str
    data: bytes


_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
}


class TelegramEmulator:
    """The Bot API and Telegram's users, in process (an ASGI app) or on a port (`server.py`).

    - `token`: the bot's token, in every API path.
    - `clock`: drives webhook retries and dates; a `FakeClock(autoadvance=True)` in tests.
    - `webhook_client`: posts updates; `fetch_client`: fetches media sent by URL (both made,
      and closed by `aclose`, when None).
    - `public_url`: where the emulator is reached: the base of `api_url`.
    - `retry_schedule` / `retry_window`: seconds between delivery attempts, and for how long.
    - `require_https`: refuse webhook URLs that are not https, as Telegram does.
    - `webhook_url` / `secret_token`: a webhook set from the start.
    """

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        clock: Clock | None = None,
        webhook_client: httpx.AsyncClient | None = None,
        fetch_client: httpx.AsyncClient | None = None,
        public_url: str = "http://telegram.test",
        bot_username: str = "byoc_emulator_bot",
        retry_schedule: Sequence[float] = DEFAULT_RETRY_SCHEDULE,
        retry_window: float = 3600.0,
        require_https: bool = False,
        webhook_url: str | None = None,
        secret_token: str | None = None,
    ) -> None:
        self.token = token
        self.clock: Clock = clock or SystemClock()
        self.public_url = public_url.rstrip("/")
        self.bot = {
            "id": int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1,
            "is_bot": True,
            "first_name": "byoc emulator",
            "username": bot_username,
        }
        self.require_https = require_https
        self.webhook: Webhook | None = (
            Webhook(url=webhook_url, secret=secret_token) if webhook_url else None
        )
        self.users: dict[int, TelegramUser] = {}
        self.sent: list[SentMessage] = []
        self.updates: list[dict[str, Any]] = []
        self.files: dict[str, StoredFile] = {}
        self.callback_answers: list[dict[str, Any]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.queued: deque[Delivery] = deque()
        self._queries: dict[str, TelegramUser] = {}
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._update_ids = itertools.count(secrets.randbelow(10**8) + 10**8)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._user_ids = itertools.count(secrets.randbelow(10**9) + 10**9)
        self._fetch = HttpClientSlot(fetch_client, factory=lambda: httpx.AsyncClient(timeout=30))
        self._sender = WebhookSender(
            clock=self.clock,
            client=webhook_client,
            on_answer=self._run_answer,
            retry_schedule=retry_schedule,
            retry_window=retry_window,
        )
        self._methods: dict[str, Callable[[dict[str, Any]], Awaitable[Any]]] = {
            "getme": self._get_me,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "getfile": self._get_file,
            "sendmessage": self._send_message,
            "sendphoto": self._send_photo,
            "sendvideo": self._send_video,
            "senddocument": self._send_document,
            "sendlocation": self._send_location,
            "sendvenue": self._send_venue,
            "sendcontact": self._send_contact,
            "answercallbackquery": self._answer_callback_query,
        }
        self.app = Router(not_found=lambda r: ApiError(404, "Not Found").response())
        for verb in ("GET", "POST"):
            self.app.route(verb, "/bot{token}/{method}")(self._api)
        self.app.route("GET", "/file/bot{token}/{folder}/{name}")(self._serve_file)
        add_control_routes(self.app, self)
        self.app.on_shutdown.append(self.aclose)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    @property
    def api_url(self) -> str:
        """The base URL to give `TelegramChannel(api_url=...)`."""
        return self.public_url

    # -- test controls --------------------------------------------------------------------------

    def user(
        self,
        first_name: str = "Alice",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        id: int | None = None,
    ) -> TelegramUser:
        """A new user who can write to the bot at once."""
        user = TelegramUser(
            id=id if id is not None else next(self._user_ids),
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
        )
        self.users[user.id] = user
        return user

    def sent_to(self, chat_id: int) -> list[SentMessage]:
        """What the bot sent to the chat, oldest first."""
        return [m for m in self.sent if m.chat_id == chat_id]

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str | None = None,
        *,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` calls of `method` fail with that Bot API error."""
        said = description or _DEFAULT_DESCRIPTIONS.get(error_code, "Internal Server Error")
        if error_code == 429 and description is None:
            said = f"Too Many Requests: retry after {retry_after or 1}"
        fault = Fault(error_code=error_code, description=said, retry_after=retry_after)
        self._faults[method.lower()].extend([fault] * times)

    def clear_faults(self) -> None:
        self._faults.clear()

    def host_file(self, data: bytes, folder: str, name: str, content_type: str) -> StoredFile:
        """Keep `data` on "Telegram's servers"; `getFile` then describes it."""
        extension = name.rsplit(".", 1)[-1] if "." in name else "bin"
        stored = StoredFile(
            file_id="BQACAgIAAxk" + secrets.token_urlsafe(40),
            file_unique_id="AgAD" + secrets.token_urlsafe(8),
            file_path=f"{folder}/file_{len(self.files)}.{extension}",
            data=data,
            content_type=content_type,
        )
        self.files[stored.file_id] = stored
        return stored

    @property
    def pending(self) -> int:
        """Deliveries started and not yet answered 2xx or given up."""
        return self._sender.pending

    @property
    def deliveries(self) -> list[Delivery]:
        return self._sender.records

    async def drain(self) -> None:
        """Wait until every delivery in flight was answered 2xx or given up."""
        await self._sender.drain()

    async def aclose(self) -> None:
        await self._sender.aclose()
        await self._fetch.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- what users do ---------------------------------------------------------------------------

    async def send_text(self, user: TelegramUser, text: str) -> dict[str, Any]:
        """The user writes `text`; the update."""
        return await self.user_sends(user, {"text": text})

    async def send_media(
        self, user: TelegramUser, kind: str, data: bytes, *, caption: str = "", **options: Any
    ) -> dict[str, Any]:
        """The user sends a `photo`, `document`, `video`, `voice`, `audio` or `sticker` of
        `data`; `options` are `media_content`'s."""
        content = self.media_content(kind, data, **options)
        if caption and kind != "sticker":
            content["caption"] = caption
        return await self.user_sends(user, content)

    def media_content(
        self,
        kind: str,
        data: bytes,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        emoji: str = "👍",
        animated: bool = False,
        thumbnail: bytes | None = None,
    ) -> dict[str, Any]:
        """The fields of a message carrying `data` as `kind`, the file kept for `getFile` (an
        `animated` sticker has a picture only when given a `thumbnail`)."""
        default_name, default_type = _MEDIA_DEFAULTS.get(kind, ("file.bin", None))
        name = file_name or default_name
        mime = mime_type or default_type or _guess_type(name)
        stored = self.host_file(data, f"{kind}s", name, mime)
        if kind == "photo":
            small = [self.host_file(_THUMBNAIL, "photos", "thumb.jpg", "image/jpeg") for _ in "ab"]
            sizes = [(90, small[0]), (320, small[1]), (1280, stored)]
            return {"photo": [{**f.as_json(), "width": w, "height": w} for w, f in sizes]}
        described = stored.as_json()
        if kind == "sticker":
            described.update(width=512, height=512, emoji=emoji, type="regular")
            described.update(is_animated=animated, is_video=False, set_name="byoc_emulator")
            if thumbnail is not None:
                thumb = self.host_file(thumbnail, "thumbnails", "thumb.webp", "image/webp")
                described["thumbnail"] = {**thumb.as_json(), "width": 128, "height": 128}
            return {"sticker": described}
        if kind in ("document", "audio"):
            described["file_name"] = name
        if kind in ("video", "voice", "audio", "animation", "video_note"):
            described["duration"] = 3
        return {kind: {**described, "mime_type": mime}}

    async def user_sends(self, user: TelegramUser, content: Mapping[str, Any]) -> dict[str, Any]:
        """The user sends a message with these fields (`text`, `photo`, `location`, ...)."""
        update = self.message_update(user, content)
        self._dispatch(update, user.id)
        return update

    def message_update(self, user: TelegramUser, content: Mapping[str, Any]) -> dict[str, Any]:
        """The update of the user sending a message with these fields, without delivering it:
        what a test posts to a webhook itself (`redeliver` can post it too)."""
        message = self._message(user, user.as_json(), dict(content))
        if user.one_time_keyboard and content.get("text") in user.keyboard:
            user.keyboard, user.one_time_keyboard = [], False
        return self._record("message", message)

    async def edit(self, user: TelegramUser, message_id: int, text: str) -> dict[str, Any]:
        """The user edits their message `message_id` to read `text`."""
        original = next(
            (
                u["message"]
                for u in self.updates
                if "message" in u
                and u["message"]["message_id"] == message_id
                and u["message"]["chat"]["id"] == user.id
            ),
            None,
        )
        if original is None:
            raise LookupError(f"{user.first_name} sent no message {message_id}")
        key = "caption" if "caption" in original or "text" not in original else "text"
        edited = {**original, key: text, "edit_date": int(self.clock.time())}
        return await self._emit("edited_message", edited, user.id)

    async def block(self, user: TelegramUser) -> dict[str, Any]:
        """The user blocks the bot: sends to them answer 403 from now on."""
        user.blocked = True
        return await self._emit("my_chat_member", self._member_change(user, "kicked"), user.id)

    async def unblock(self, user: TelegramUser) -> dict[str, Any]:
        user.blocked = False
        return await self._emit("my_chat_member", self._member_change(user, "member"), user.id)

    async def tap(self, user: TelegramUser, text: str) -> dict[str, Any]:
        """The user taps the button labelled `text`: a reply-keyboard button sends its text; an
        inline button with `callback_data` sends a `callback_query` (newest message first).
        `LookupError` when no such button is shown, or it only opens a link."""
        if text in user.keyboard:
            return await self.user_sends(user, {"text": text})
        for sent in reversed(self.sent_to(user.id)):
            markup = sent.message.get("reply_markup") or {}
            for row in markup.get("inline_keyboard", []):
                for button in row:
                    if button.get("text") != text:
                        continue
                    if "callback_data" not in button:
                        raise LookupError(f"the button {text!r} opens {button.get('url')}")
                    query_id = str(secrets.randbits(62))
                    self._queries[query_id] = user
                    query = {
                        "id": query_id,
                        "from": user.as_json(),
                        "message": sent.message,
                        "chat_instance": str(-user.id),
                        "data": button["callback_data"],
                    }
                    return await self._emit("callback_query", query, user.id)
        raise LookupError(f"{user.first_name} sees no button {text!r}")

    async def redeliver(self, update_id: int) -> dict[str, Any]:
        """Post an update again, as Telegram does when it did not get the webhook's answer."""
        for update in self.updates:
            if update["update_id"] == update_id:
                self._deliver(Delivery(update=update, chat_id=_chat_of(update)))
                return update
        raise LookupError(f"no update {update_id}")

    # -- internals -------------------------------------------------------------------------------

    def _message(
        self, user: TelegramUser, sender: Mapping[str, Any], content: dict[str, Any]
    ) -> dict[str, Any]:
        ids = self._message_ids.setdefault(user.id, itertools.count(1))
        return {
            "message_id": next(ids),
            "from": dict(sender),
            "chat": user.chat_json(),
            "date": int(self.clock.time()),
            **content,
        }

    def _member_change(self, user: TelegramUser, status: str) -> dict[str, Any]:
        old = "member" if status == "kicked" else "kicked"
        bot = {"user": self.bot}
        return {
            "chat": user.chat_json(),
            "from": user.as_json(),
            "date": int(self.clock.time()),
            "old_chat_member": {
                "status": old,
                **bot,
                **({"until_date": 0} if old == "kicked" else {}),
            },
            "new_chat_member": {
                "status": status,
                **bot,
                **({"until_date": 0} if status == "kicked" else {}),
            },
        }

    async def _emit(self, kind: str, payload: dict[str, Any], chat_id: int) -> dict[str, Any]:
        update = self._record(kind, payload)
        self._dispatch(update, chat_id)
        return update

    def _record(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), kind: payload}
        self.updates.append(update)
        return update

    def _dispatch(self, update: dict[str, Any], chat_id: int) -> None:
        delivery = Delivery(update=update, chat_id=chat_id, made=self.clock.time())
        if self.webhook is None:
            self.queued.append(delivery)  # Telegram keeps updates until a webhook takes them
        elif _kind(update) in (self.webhook.allowed_updates or DEFAULT_UPDATES):
            self._deliver(delivery)

    def _deliver(self, delivery: Delivery) -> None:
        self._sender.send(lambda: self.webhook, delivery)

    async def _run_answer(self, answer: dict[str, Any]) -> None:
        """Run the method a webhook named in its answer; Telegram reports no outcome."""
        method = self._methods.get(str(answer["method"]).lower())
        if method is None:
            return
        self.calls.append((str(answer["method"]), answer))
        try:
            await method({k: v for k, v in answer.items() if k != "method"})
        except ApiError:
            pass  # the bot learns nothing of a failed method in a webhook's answer

    # -- the API ---------------------------------------------------------------------------------

    async def _api(self, request: Request) -> Response:
        if not hmac.compare_digest(request.params["token"].encode(), self.token.encode()):
            return ApiError(401, "Unauthorized").response()
        name = request.params["method"].lower()
        method = self._methods.get(name)
        if method is None:
            return ApiError(404, "Not Found").response()
        try:
            params = _params(request)
            self.calls.append((request.params["method"], params))
            faults = self._faults.get(name)
            if faults:
                fault = faults.popleft()
                raise ApiError(fault.error_code, fault.description, fault.retry_after)
            result = await method(params)
        except ApiError as exc:
            return exc.response()
        return json_response({"ok": True, "result": result})

    async def _serve_file(self, request: Request) -> Response:
        path = f"{request.params['folder']}/{request.params['name']}"
        found = next((f for f in self.files.values() if f.file_path == path), None)
        if request.params["token"] != self.token or found is None:
            return ApiError(404, "Not Found").response()
        return Response(body=found.data, content_type=found.content_type)

    async def _get_me(self, params: dict[str, Any]) -> Any:
        return {**self.bot, "can_join_groups": True, "supports_inline_queries": False}

    async def _set_webhook(self, params: dict[str, Any]) -> Any:
        url = params.get("url")
        if not isinstance(url, str):
            raise ApiError(400, "Bad Request: url is required")
        if not url:
            return await self._delete_webhook(params)
        if self.require_https and not url.lower().startswith("https://"):
            raise ApiError(400, "Bad Request: bad webhook: HTTPS url must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and (not isinstance(secret, str) or not SECRET.fullmatch(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        allowed = params.get("allowed_updates") or []
        if isinstance(allowed, str):
            allowed = json.loads(allowed)
        if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
            raise ApiError(400, "Bad Request: can't parse allowed updates")
        self.webhook = Webhook(url=url, secret=secret, allowed_updates=tuple(allowed))
        self._forget_old_updates()
        while self.queued:
            delivery = self.queued.popleft()
            if _kind(delivery.update) in (allowed or DEFAULT_UPDATES):
                self._deliver(delivery)
        return True

    async def _delete_webhook(self, params: dict[str, Any]) -> Any:
        self.webhook = None
        if _flag(params.get("drop_pending_updates")):
            self.queued.clear()
        return True

    def _forget_old_updates(self) -> None:
        """Drop the waiting updates made over a day ago, as Telegram does."""
        oldest = self.clock.time() - KEPT_FOR
        while self.queued and self.queued[0].made < oldest:
            self.queued.popleft()

    async def _get_webhook_info(self, params: dict[str, Any]) -> Any:
        self._forget_old_updates()
        info: dict[str, Any] = {
            "url": self.webhook.url if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.queued) + self._sender.pending,
        }
        if self.webhook is not None:
            info.update(max_connections=40, allowed_updates=list(self.webhook.allowed_updates))
        if self._sender.last_error is not None:
            when, message = self._sender.last_error
            info.update(last_error_date=int(when), last_error_message=message)
        return info

    async def _get_file(self, params: dict[str, Any]) -> Any:
        found = self.files.get(str(params.get("file_id", "")))
        if found is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if len(found.data) > MAX_DOWNLOAD:
            raise ApiError(400, "Bad Request: file is too big")
        return {**found.as_json(), "file_path": found.file_path}

    async def _send_message(self, params: dict[str, Any]) -> Any:
        user = self._chat(params)
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        return self._bot_sends(user, "sendMessage", {"text": text}, params, text=text)

    async def _send_photo(self, params: dict[str, Any]) -> Any:
        return await self._send_file(params, "sendPhoto", "photo", MAX_PHOTO_BY_URL)

    async def _send_video(self, params: dict[str, Any]) -> Any:
        return await self._send_file(params, "sendVideo", "video", MAX_DOWNLOAD)

    async def _send_document(self, params: dict[str, Any]) -> Any:
        return await self._send_file(params, "sendDocument", "document", MAX_DOWNLOAD)

    async def _send_file(
        self, params: dict[str, Any], method: str, kind: str, max_by_url: int
    ) -> Any:
        user = self._chat(params)
        caption = params.get("caption") or ""
        if not isinstance(caption, str) or len(caption) > MAX_CAPTION:
            raise ApiError(400, "Bad Request: message caption is too long")
        value = params.get(kind)
        if isinstance(value, _Upload):
            limit = MAX_PHOTO_UPLOAD if kind == "photo" else MAX_UPLOAD
            if len(value.data) > limit:
                raise ApiError(413, "Request Entity Too Large")
            data, mime, shown = value.data, value.content_type, value.filename
        elif isinstance(value, str) and value in self.files:
            stored = self.files[value]
            data, mime, shown = stored.data, stored.content_type, value
        elif isinstance(value, str) and value.lower().startswith(("http://", "https://")):
            data, mime = await self._fetch_url(value, kind, max_by_url)
            shown = value
        else:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        name = value.filename if isinstance(value, _Upload) else shown.rsplit("/", 1)[-1]
        content = self.media_content(kind, data, file_name=name or None, mime_type=mime)
        if caption:
            content["caption"] = caption
        return self._bot_sends(user, method, content, params, text=caption or None, media=shown)

    async def _fetch_url(self, url: str, kind: str, limit: int) -> tuple[bytes, str]:
        """Fetch media a bot sent by URL, as Telegram's servers do."""
        try:
            response = await self._fetch.client.get(url, follow_redirects=True)
        except httpx.HTTPError:
            raise ApiError(400, "Bad Request: failed to get HTTP URL content") from None
        if response.status_code != 200 or len(response.content) > limit:
            raise ApiError(400, "Bad Request: failed to get HTTP URL content")
        mime = response.headers.get("content-type", "").split(";")[0].strip().lower()
        wrong = {
            "photo": not mime.startswith("image/"),
            "video": mime != "video/mp4",
            "document": mime not in _DOCUMENTS_BY_URL,
        }
        if wrong.get(kind, False):
            raise ApiError(400, "Bad Request: wrong type of the web page content")
        return response.content, mime

    async def _send_location(self, params: dict[str, Any]) -> Any:
        user = self._chat(params)
        point = _point(params)
        return self._bot_sends(user, "sendLocation", {"location": point}, params, text=None)

    async def _send_venue(self, params: dict[str, Any]) -> Any:
        user = self._chat(params)
        title, address = params.get("title"), params.get("address")
        if not isinstance(title, str) or not title or not isinstance(address, str) or not address:
            raise ApiError(400, "Bad Request: venue title and address must be non-empty")
        point = _point(params)
        venue = {"location": point, "title": title, "address": address}
        content = {"location": point, "venue": venue}
        return self._bot_sends(user, "sendVenue", content, params, text=title)

    async def _send_contact(self, params: dict[str, Any]) -> Any:
        user = self._chat(params)
        phone, first = params.get("phone_number"), params.get("first_name")
        if not isinstance(phone, str) or not phone or not isinstance(first, str) or not first:
            raise ApiError(400, "Bad Request: phone_number and first_name must be non-empty")
        content = {"contact": {"phone_number": phone, "first_name": first}}
        return self._bot_sends(user, "sendContact", content, params, text=f"{first} {phone}")

    async def _answer_callback_query(self, params: dict[str, Any]) -> Any:
        query_id = str(params.get("callback_query_id", ""))
        if self._queries.pop(query_id, None) is None:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self.callback_answers.append(params)
        return True

    def _chat(self, params: Mapping[str, Any]) -> TelegramUser:
        chat_id = params.get("chat_id")
        if isinstance(chat_id, str) and chat_id.lstrip("-").isdigit():
            chat_id = int(chat_id)
        user = self.users.get(chat_id) if isinstance(chat_id, int) else None
        if user is None:
            raise ApiError(400, "Bad Request: chat not found")
        if user.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return user

    def _bot_sends(
        self,
        user: TelegramUser,
        method: str,
        content: dict[str, Any],
        params: Mapping[str, Any],
        *,
        text: str | None,
        media: str | None = None,
    ) -> dict[str, Any]:
        markup = _reply_markup(params.get("reply_markup"))
        buttons: list[str] = []
        if "inline_keyboard" in markup:
            content["reply_markup"] = markup  # the message keeps its inline keyboard
            buttons = [b["text"] for row in markup["inline_keyboard"] for b in row]
        elif "keyboard" in markup:
            buttons = [
                b if isinstance(b, str) else b["text"] for row in markup["keyboard"] for b in row
            ]
            user.keyboard, user.one_time_keyboard = buttons, _flag(markup.get("one_time_keyboard"))
        elif markup.get("remove_keyboard"):
            user.keyboard = []
        message = self._message(user, self.bot, content)
        self.sent.append(
            SentMessage(
                chat_id=user.id,
                message_id=message["message_id"],
                method=method,
                text=text,
                media=media,
                buttons=tuple(buttons),
                message=message,
                at=self.clock.time(),
            )
        )
        return message


_MEDIA_DEFAULTS: Mapping[str, tuple[str, str | None]] = {
    "photo": ("photo.jpg", "image/jpeg"),
    "video": ("video.mp4", "video/mp4"),
    "animation": ("animation.mp4", "video/mp4"),
    "video_note": ("video_note.mp4", "video/mp4"),
    "voice": ("voice.ogg", "audio/ogg"),
    "audio": ("audio.mp3", "audio/mpeg"),
    "sticker": ("sticker.webp", "image/webp"),
    "document": ("document.bin", None),
}


def _guess_type(name: str) -> str:
    return mimetypes.guess_type(name, strict=False)[0] or "application/octet-stream"


def _kind(update: Mapping[str, Any]) -> str:
    return next(key for key in update if key != "update_id")


def _chat_of(update: Mapping[str, Any]) -> int | None:
    for value in update.values():
        if isinstance(value, dict):
            chat = value.get("chat") or (value.get("message") or {}).get("chat") or {}
            chat_id = chat.get("id")
            return chat_id if isinstance(chat_id, int) else None
    return None


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))


def _point(params: Mapping[str, Any]) -> dict[str, float]:
    try:
        lat, lon = float(params["latitude"]), float(params["longitude"])
    except (KeyError, TypeError, ValueError):
        raise ApiError(400, "Bad Request: latitude and longitude are required") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ApiError(400, "Bad Request: wrong latitude or longitude")
    return {"latitude": lat, "longitude": lon}


def _reply_markup(value: Any) -> dict[str, Any]:
    """A `reply_markup` checked as Telegram checks it; 400 for a keyboard it would refuse."""
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON") from None
    if not isinstance(value, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON")
    key = "inline_keyboard" if "inline_keyboard" in value else "keyboard"
    rows = value.get(key)
    if rows is None:
        return value
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ApiError(400, f'Bad Request: field "{key}" must be an Array of Arrays')
    buttons = [button for row in rows for button in row]
    if len(buttons) > 100:
        raise ApiError(400, "Bad Request: reply markup is too long")
    for button in buttons:
        text = button if isinstance(button, str) and key == "keyboard" else None
        if isinstance(button, dict):
            text = button.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: can't parse keyboard button: text is empty")
        if key == "inline_keyboard":
            _check_inline(button)
    return value


def _check_inline(button: Mapping[str, Any]) -> None:
    url, data = button.get("url"), button.get("callback_data")
    if url is not None:
        if not isinstance(url, str) or not url.lower().startswith(("http://", "https://", "tg://")):
            raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
    elif data is not None:
        if not isinstance(data, str) or not 0 < len(data.encode()) <= MAX_CALLBACK_DATA:
            raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    else:
        raise ApiError(
            400,
            "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the "
            "inline keyboard",
        )


def _params(request: Request) -> dict[str, Any]:
    """The call's parameters from the query string and the body (JSON, a form, multipart)."""
    params: dict[str, Any] = dict(request.query)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = request.body
    if not body.strip():
        return params
    if kind == "application/json":
        try:
            decoded = json.loads(body)
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse JSON object") from None
        if not isinstance(decoded, dict):
            raise ApiError(400, "Bad Request: can't parse JSON object")
        params.update(decoded)
    elif kind == "application/x-www-form-urlencoded":
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    elif kind == "multipart/form-data":
        params.update(_form(request.headers["content-type"], body))
    return params


def _form(content_type: str, body: bytes) -> dict[str, Any]:
    """A multipart form's fields: strings, and `_Upload`s for files."""
    envelope = b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    try:
        message = message_from_bytes(envelope, policy=policy.HTTP)
        fields: dict[str, Any] = {}
        for part in message.walk():
            name = part.get_param("name", header="content-disposition")
            if part.is_multipart() or not isinstance(name, str):
                continue
            data = part.get_payload(decode=True)
            data = data if isinstance(data, bytes) else b""
            filename = part.get_filename()
            fields[name] = (
                _Upload(filename=filename, content_type=part.get_content_type(), data=data)
                if filename
                else data.decode("utf-8", "replace")
            )
    # The MIME parser raises assorted errors on hostile input: the client sent a broken form.
    except Exception:
        raise ApiError(400, "Bad Request: can't parse multipart/form-data") from None
    return fields
