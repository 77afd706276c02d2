"""An emulator of HappyTalk's 상담톡 API and of the KakaoTalk users behind it.

It does what the dealer does for a bridge:

- `POST /v1/chat/write`: checks `HT-Client-Id` / `HT-Client-Secret`, every documented limit
  (`user_key` ≤20, `sender_key` ≤40 and known, `serial_number` ≤30 and unique, `message_type`
  TX|IM|FI|LI, `message` ≤1,000, the fields each type needs) and records what it accepted in
  `sent`;
- `POST /kakaoWebhook/v3/bzc/image/upload` and `.../file/upload` (multipart `sender_key` +
  `image` / `file` + `file_type`): keep the file "on Kakao's servers", served at
  `{base_url}/dn/{id}/{name}`, and answer `{"code": "0000", "image"}` /
  `{"code": "0000", "file", "name", "size"}`; an image that is not a JPEG, PNG or GIF, or over
  5 MB, is `{"code": "-505", "message": "InvalidImageSizeException"}` (`uploads` lists them);
- `/v1/chat/write` takes an `IM` or `FI` message only with an `image_url` / `file_url` stored
  that way (and the file's own size), as 상담톡 sends only files on Kakao's servers;
- `POST /kakaoWebhook/v3/bzc/chat/endWithBot`: ends the user's session (`ended_sessions`);
- `timeline` lists both kinds of accepted calls in the order they came, `("write", serial)` and
  `("end", user_key)`, so a test can tell whether a message went out before its session ended;
- simulated users (`emulator.user()`) send text, photos and files as webhooks to
  `webhook_url`, in the background; failed deliveries are retried `webhook_retries` times and
  every delivery can be repeated `duplicate_deliveries` times (same `serial_number`), like a
  dealer that retries; `await emulator.drain()` waits for them;
- the photos and files are served from the emulator at signed, expiring URLs.

HappyTalk's answers are documented only for the v3 calls (`{"code": 0}` /
`{"code": -501, "message": "InvalidSenderException(...)"}`); the emulator answers the v1 call
the same way and uses HTTP 401 / 400 for bad credentials and invalid bodies, including a
media URL that was not uploaded [inferred].

```python
emulator = HappyTalkEmulator(webhook_url="http://bridge/channels/kakao/webhook/<secret>")
serial = emulator.user("c0eUY5TATGz1").send_text("안녕하세요")
await emulator.drain()
```
"""

from __future__ import annotations

import base64
import itertools
import json
import secrets
import string
from collections import deque
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import quote

import attrs
import httpx

from byoc.clock import Clock, SystemClock
from byoc.http_client import HttpClientSlot
from byoc.testing.freshchat.uploads import form_files
from byoc.testing.freshchat.wire import ApiError
from byoc.testing.routing import Request, Response, Router, json_response

from ..chunking import kakao_length
from ..dealers.happytalk import (
    END_PATH,
    FILE_UPLOAD_PATH,
    IMAGE_UPLOAD_PATH,
    MAX_FILE_NAME,
    MAX_IMAGE_BYTES,
    MAX_MESSAGE,
    MAX_SENDER_KEY,
    MAX_SERIAL,
    MAX_URL,
    MAX_USER_KEY,
    MESSAGE_TYPES,
    WRITE_PATH,
)
from .jobs import Jobs
from .media import MediaShelf

__all__ = [
    "DealerUser",
    "HappyTalkEmulator",
    "SentMessage",
    "Upload",
    "WebhookDelivery",
    "write_problem",
]

_IMAGE_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")

WebhookShape = Literal["message_type", "type"]


@attrs.frozen(kw_only=True)
class SentMessage:
    """A `/v1/chat/write` call the emulator accepted: what the user now sees."""

    user_key: str
    serial_number: str
    message_type: str
    message: str | None = None
    image_url: str | None = None
    file_url: str | None = None
    file_name: str | None = None
    file_size: int | None = None
    body: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class Upload:
    """A file uploaded through HappyTalk, kept "on Kakao's servers" at `url`."""

    kind: Literal["image", "file"]
    url: str
    name: str
    data: bytes
    content_type: str
    file_type: str | None = None


@attrs.frozen(kw_only=True)
class WebhookDelivery:
    """One attempt to deliver a user's message; `status` is None when the request failed."""

    serial_number: str
    attempt: int
    status: int | None
    duplicate: bool = False


@attrs.frozen(kw_only=True)
class _Failure:
    status: int
    code: int | None
    message: str


def _string(body: Mapping[str, Any], field: str, limit: int, *, required: bool) -> str | None:
    value = body.get(field)
    if value is None:
        return f"{field} is required" if required else None
    if not isinstance(value, str) or (required and not value.strip()):
        return f"{field} must be a non-empty string"
    if kakao_length(value) > limit:
        return f"{field} is longer than {limit} characters"
    return None


def write_problem(body: Any) -> str | None:
    """What makes a `/v1/chat/write` body invalid per HappyTalk's documentation, or None."""
    if not isinstance(body, Mapping):
        return "the body must be a JSON object"
    for field, limit in (
        ("user_key", MAX_USER_KEY),
        ("sender_key", MAX_SENDER_KEY),
        ("serial_number", MAX_SERIAL),
    ):
        if (problem := _string(body, field, limit, required=True)) is not None:
            return problem
    kind = body.get("message_type", "TX")
    if kind not in MESSAGE_TYPES:
        return f"message_type must be one of {sorted(MESSAGE_TYPES)}"
    checks: list[tuple[str, int, bool]] = [("message", MAX_MESSAGE, kind in ("TX", "LI"))]
    checks.append(("image_url", MAX_URL, kind == "IM"))
    checks.append(("file_url", MAX_URL, kind == "FI"))
    checks.append(("file_name", MAX_FILE_NAME, kind == "FI"))
    for field, limit, required in checks:
        if (problem := _string(body, field, limit, required=required)) is not None:
            return problem
    size = body.get("file_size")
    if kind == "FI" and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        return "file_size must be a non-negative integer for FI messages"
    supplement = body.get("supplement")
    if isinstance(supplement, list) and len(supplement) > 10:
        return "supplement takes at most 10 buttons"
    return None


def _random_key(length: int) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


class DealerUser:
    """A KakaoTalk user chatting with the business through the dealer."""

    def __init__(self, emulator: HappyTalkEmulator, user_key: str) -> None:
        self.emulator = emulator
        self.user_key = user_key

    def send_text(self, text: str, *, shape: WebhookShape | None = None) -> str:
        """Write `text`; its serial number. Delivered in the background (see `drain`)."""
        return self.emulator.deliver_message(self.user_key, "TX", text=text, shape=shape)

    def send_photo(
        self,
        data: bytes = b"\xff\xd8\xff\xe0fake-jpeg",
        *,
        name: str = "photo.jpg",
        content_type: str = "image/jpeg",
        shape: WebhookShape | None = None,
    ) -> str:
        """Send a photo (served by the emulator); its serial number."""
        url = self.emulator.media.put(data, name=name, content_type=content_type)
        return self.emulator.deliver_message(self.user_key, "IM", url=url, shape=shape)

    def send_file(
        self,
        data: bytes,
        *,
        name: str,
        content_type: str = "application/octet-stream",
        shape: WebhookShape | None = None,
    ) -> str:
        """Send a file (served by the emulator); its serial number."""
        url = self.emulator.media.put(data, name=name, content_type=content_type)
        return self.emulator.deliver_message(
            self.user_key, "FI", url=url, name=name, size=len(data), shape=shape
        )

    def send_media(
        self,
        kind: Literal["VI", "AU"],
        data: bytes,
        *,
        name: str,
        content_type: str,
        shape: WebhookShape | None = None,
    ) -> str:
        """Send a video (`VI`) or a voice recording (`AU`); its serial number.

        HappyTalk documents neither webhook; they are spelled like the documented ones, the
        URL in `video_url` / `audio_url` (or `content.url`) [inferred].
        """
        url = self.emulator.media.put(data, name=name, content_type=content_type)
        return self.emulator.deliver_message(
            self.user_key, kind, url=url, name=name, size=len(data), shape=shape
        )

    def send_link(self, url: str, text: str = "", *, shape: WebhookShape | None = None) -> str:
        """Share a link (`LI`); its serial number."""
        return self.emulator.deliver_message(
            self.user_key, "LI", text=text or None, url=url, shape=shape
        )

    @property
    def received(self) -> list[SentMessage]:
        """What the business sent this user, in order."""
        return [m for m in self.emulator.sent if m.user_key == self.user_key]


class HappyTalkEmulator:
    """HappyTalk's 상담톡 API and simulated users, as one ASGI app (`emulator.app`)."""

    def __init__(
        self,
        *,
        client_id: str = "test-client-id",
        client_secret: str = "test-client-secret",
        sender_key: str = "3fd538ef7218a14a63e51ba47e83c76e1ff5ab62",
        webhook_url: str | None = None,
        webhook_headers: Mapping[str, str] | None = None,
        webhook_retries: int = 0,
        retry_delay: float = 1.0,
        duplicate_deliveries: int = 0,
        webhook_shape: WebhookShape = "message_type",
        base_url: str = "http://happytalk.test",
        clock: Clock | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.sender_key = sender_key
        self.webhook_url = webhook_url
        self.webhook_headers = dict(webhook_headers or {})
        self.webhook_retries = webhook_retries
        self.retry_delay = retry_delay
        self.duplicate_deliveries = duplicate_deliveries
        self.webhook_shape: WebhookShape = webhook_shape
        self.clock: Clock = clock or SystemClock()
        self.media = MediaShelf(base_url=base_url, clock=self.clock)
        self.sent: list[SentMessage] = []
        self.uploads: dict[str, Upload] = {}
        self._uploads_by_id: dict[str, Upload] = {}
        self.ended_sessions: list[str] = []
        self.timeline: list[tuple[str, str]] = []
        self.deliveries: list[WebhookDelivery] = []
        self._serials: set[str] = set()
        self._sessions: dict[str, str] = {}
        self._session_ids = itertools.count(100001)
        self._inbound_serials = itertools.count(291278922214444814881143)
        self._failures: deque[_Failure | None] = deque()
        self._http = HttpClientSlot(http, factory=lambda: httpx.AsyncClient(timeout=10.0))
        self._jobs = Jobs()
        self.app = self._router()

    @property
    def http(self) -> httpx.AsyncClient:
        """The client webhooks/skill calls go out with (settable, e.g. to an ASGI transport)."""
        return self._http.client

    @http.setter
    def http(self, client: httpx.AsyncClient) -> None:
        self._http.replace(client)

    @property
    def base_url(self) -> str:
        return self.media.base_url

    @base_url.setter
    def base_url(self, value: str) -> None:
        self.media.base_url = value.rstrip("/")

    # -- test controls -------------------------------------------------------------------------

    def user(self, user_key: str | None = None) -> DealerUser:
        """A simulated user (a random 12-character user key unless given)."""
        return DealerUser(self, user_key or _random_key(12))

    def fail_next(
        self,
        *,
        status: int = 500,
        code: int | None = None,
        message: str = "",
        times: int = 1,
        after: int = 0,
    ) -> None:
        """Let `after` send calls through, then answer `times` of them with this failure."""
        self._failures.extend([None] * after)
        for _ in range(times):
            self._failures.append(_Failure(status=status, code=code, message=message))

    async def drain(self) -> None:
        """Wait until every webhook delivery (with retries and duplicates) is done."""
        await self._jobs.drain()

    async def aclose(self) -> None:
        await self._jobs.cancel()
        await self._http.aclose()

    # -- inbound: users → bridge ---------------------------------------------------------------

    def webhook_body(
        self,
        user_key: str,
        kind: str,
        *,
        text: str | None = None,
        url: str | None = None,
        name: str | None = None,
        size: int | None = None,
        shape: WebhookShape | None = None,
    ) -> dict[str, Any]:
        """A webhook body the way the dealer spells it (`shape`)."""
        serial = str(next(self._inbound_serials))
        session = self._sessions.setdefault(user_key, str(next(self._session_ids)))
        body: dict[str, Any] = {
            "user_key": user_key,
            "sender_key": self.sender_key,
            "serial_number": serial,
            "session_id": session,
            "time": int(self.clock.time() * 1000),
        }
        if (shape or self.webhook_shape) == "type":
            words = {"TX": "text", "IM": "photo", "FI": "file", "VI": "video", "AU": "audio"}
            body["type"] = words.get(kind, "link")
            if kind == "TX":
                body["content"] = text
            else:
                content = {"url": url, "name": name, "size": size, "text": text}
                body["content"] = {k: v for k, v in content.items() if v is not None}
            return body
        body["message_type"] = kind
        if kind in ("TX", "LI") and text is not None:
            body["message"] = text
        if kind == "IM":
            body["image_url"] = url
        elif kind == "LI":
            body["url"] = url
        elif kind != "TX":
            field = {"FI": "file_url", "VI": "video_url", "AU": "audio_url"}.get(kind, "url")
            body.update({field: url, "file_name": name, "file_size": size})
        return body

    def deliver_message(
        self,
        user_key: str,
        kind: str,
        *,
        text: str | None = None,
        url: str | None = None,
        name: str | None = None,
        size: int | None = None,
        shape: WebhookShape | None = None,
    ) -> str:
        """Post a user's message to the webhook in the background; its serial number."""
        body = self.webhook_body(
            user_key, kind, text=text, url=url, name=name, size=size, shape=shape
        )
        self._jobs.spawn(self._deliver(body))
        return str(body["serial_number"])

    async def _deliver(self, body: dict[str, Any]) -> None:
        if not self.webhook_url:
            raise RuntimeError("HappyTalkEmulator.webhook_url is not set")
        serial = str(body["serial_number"])
        content = json.dumps(body, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=UTF-8", **self.webhook_headers}
        delivered = False
        for attempt in range(1, self.webhook_retries + 2):
            status = await self._post_webhook(content, headers)
            self.deliveries.append(
                WebhookDelivery(serial_number=serial, attempt=attempt, status=status)
            )
            if status is not None and 200 <= status < 300:
                delivered = True
                break
            if attempt <= self.webhook_retries:
                await self.clock.sleep(self.retry_delay * attempt)
        if not delivered:
            return
        for _ in range(self.duplicate_deliveries):
            status = await self._post_webhook(content, headers)
            self.deliveries.append(
                WebhookDelivery(serial_number=serial, attempt=1, status=status, duplicate=True)
            )

    async def _post_webhook(self, content: bytes, headers: dict[str, str]) -> int | None:
        assert self.webhook_url is not None
        try:
            response = await self.http.post(self.webhook_url, content=content, headers=headers)
        except httpx.HTTPError:
            return None
        return response.status_code

    # -- the API -------------------------------------------------------------------------------

    def _router(self) -> Router:
        router = Router(
            not_found=lambda r: json_response({"code": -404, "message": "not found"}, 404)
        )
        router.route("POST", WRITE_PATH)(self._write)
        router.route("POST", END_PATH)(self._end)
        router.route("POST", IMAGE_UPLOAD_PATH)(self._upload_image)
        router.route("POST", FILE_UPLOAD_PATH)(self._upload_file)
        router.route("GET", "/dn/{upload_id}/{name}")(self._serve_upload)
        router.route("POST", "/_emulator/users/{user_key}/messages")(self._control_message)
        router.route("GET", "/_emulator/sent")(self._control_sent)
        router.route("PUT", "/_emulator/webhook")(self._control_webhook)
        router.route("POST", "/_emulator/drain")(self._control_drain)
        self.media.mount(router)
        router.on_shutdown.append(self.aclose)
        return router

    def _authorised(self, request: Request) -> bool:
        return (
            request.headers.get("ht-client-id") == self.client_id
            and request.headers.get("ht-client-secret") == self.client_secret
        )

    @staticmethod
    def _json(request: Request) -> Any:
        try:
            return request.json()
        except ValueError:
            return None

    def _unknown_sender(self, body: Mapping[str, Any]) -> Response | None:
        if body.get("sender_key") != self.sender_key:
            message = f"InvalidSenderException(senderKey: {body.get('sender_key')})"
            return json_response({"code": -501, "message": message})
        return None

    async def _write(self, request: Request) -> Response:
        if not self._authorised(request):
            return json_response({"code": -401, "message": "invalid HT-Client-Id/Secret"}, 401)
        failure = self._failures.popleft() if self._failures else None
        if failure is not None:
            payload: dict[str, Any] = {"message": failure.message}
            if failure.code is not None:
                payload["code"] = failure.code
            return json_response(payload, failure.status)
        body = self._json(request)
        if (problem := write_problem(body) or self._media_problem(body)) is not None:
            return json_response({"code": -400, "message": problem}, 400)
        if (refusal := self._unknown_sender(body)) is not None:
            return refusal
        serial = body["serial_number"]
        if serial in self._serials:
            return json_response(
                {"code": -409, "message": f"duplicate serial_number {serial}"}, 400
            )
        self._serials.add(serial)
        self.timeline.append(("write", serial))
        size = body.get("file_size")
        self.sent.append(
            SentMessage(
                user_key=body["user_key"],
                serial_number=serial,
                message_type=body.get("message_type", "TX"),
                message=body.get("message"),
                image_url=body.get("image_url"),
                file_url=body.get("file_url"),
                file_name=body.get("file_name"),
                file_size=size if isinstance(size, int) else None,
                body=body,
            )
        )
        return json_response({"code": 0})

    def _media_problem(self, body: Mapping[str, Any]) -> str | None:
        """Why an IM / FI message cannot go: its media is not a file uploaded to Kakao."""
        media = {
            "IM": ("image_url", "image", IMAGE_UPLOAD_PATH),
            "FI": ("file_url", "file", FILE_UPLOAD_PATH),
        }
        kind = body.get("message_type", "TX")
        if kind not in media:
            return None
        field, upload_kind, path = media[kind]
        upload = self.uploads.get(str(body.get(field)))
        if upload is None or upload.kind != upload_kind:
            return (
                f"{field} must be a {upload_kind} uploaded to Kakao's servers (POST {path}); "
                "상담톡 sends no other"
            )
        if kind == "FI" and body.get("file_size") != len(upload.data):
            return f"file_size must be the uploaded file's size ({len(upload.data)})"
        return None

    async def _upload_image(self, request: Request) -> Response:
        return await self._upload(request, "image")

    async def _upload_file(self, request: Request) -> Response:
        return await self._upload(request, "file")

    async def _upload(self, request: Request, kind: Literal["image", "file"]) -> Response:
        if not self._authorised(request):
            return json_response({"code": -401, "message": "invalid HT-Client-Id/Secret"}, 401)
        try:
            form = form_files(request.headers.get("content-type", ""), request.body)
        except ApiError as exc:
            return json_response({"code": "-400", "message": exc.message}, 400)
        sender = form.get("sender_key")
        if sender is None or sender.data.decode("utf-8", "replace") != self.sender_key:
            key = sender.data.decode("utf-8", "replace") if sender else None
            return json_response(
                {"code": -501, "message": f"InvalidSenderException(senderKey: {key})"}
            )
        item = form.get(kind)
        if item is None or not item.data:
            return json_response({"code": "-400", "message": f"{kind} is required"}, 400)
        if kind == "image" and (
            len(item.data) > MAX_IMAGE_BYTES or not item.data.startswith(_IMAGE_SIGNATURES)
        ):
            return json_response({"code": "-505", "message": "InvalidImageSizeException"})
        upload_id = secrets.token_hex(10)
        name = item.filename or kind
        file_type = form.get("file_type")
        upload = Upload(
            kind=kind,
            url=f"{self.base_url}/dn/{upload_id}/{quote(name)}",
            name=name,
            data=item.data,
            content_type=item.content_type,
            file_type=file_type.data.decode("utf-8", "replace") if file_type else None,
        )
        self.uploads[upload.url] = upload
        self._uploads_by_id[upload_id] = upload
        self.timeline.append(("upload", upload.url))
        if kind == "image":
            return json_response({"code": "0000", "image": upload.url})
        return json_response(
            {"code": "0000", "file": upload.url, "name": name, "size": len(item.data)}
        )

    async def _serve_upload(self, request: Request) -> Response:
        found = self._uploads_by_id.get(request.params["upload_id"])
        if found is None:
            return json_response({"code": -404, "message": "not found"}, 404)
        return Response(status=200, body=found.data, content_type=found.content_type)

    async def _end(self, request: Request) -> Response:
        if not self._authorised(request):
            return json_response({"code": -401, "message": "invalid HT-Client-Id/Secret"}, 401)
        body = self._json(request)
        if not isinstance(body, dict) or not isinstance(body.get("user_key"), str):
            return json_response({"code": -400, "message": "user_key is required"}, 400)
        if (refusal := self._unknown_sender(body)) is not None:
            return refusal
        user_key = body["user_key"]
        self.ended_sessions.append(user_key)
        self.timeline.append(("end", user_key))
        session = self._sessions.pop(user_key, None)
        return json_response({"code": 0} if session is None else {"code": 0, "session_id": session})

    # -- control endpoints for `byoc emulate kakao` --------------------------------------------

    async def _control_message(self, request: Request) -> Response:
        body = self._json(request)
        if not isinstance(body, dict):
            return json_response({"error": "expected a JSON object"}, 400)
        user = self.user(request.params["user_key"])
        if isinstance(body.get("text"), str):
            serial = user.send_text(body["text"])
        elif isinstance(body.get("photo"), dict) or isinstance(body.get("file"), dict):
            spec = body.get("photo") or body["file"]
            try:
                data = base64.b64decode(str(spec.get("data_base64", "")), validate=True)
            except ValueError:
                return json_response({"error": "data_base64 is not base64"}, 400)
            if "photo" in body:
                serial = user.send_photo(data, name=str(spec.get("name") or "photo.jpg"))
            else:
                serial = user.send_file(data, name=str(spec.get("name") or "file.bin"))
        else:
            return json_response({"error": "send {text} or {photo|file: {name, data_base64}}"}, 400)
        return json_response({"serial_number": serial})

    async def _control_sent(self, request: Request) -> Response:
        return json_response([dict(m.body) for m in self.sent])

    async def _control_webhook(self, request: Request) -> Response:
        body = self._json(request)
        if not isinstance(body, dict) or not isinstance(body.get("url"), str):
            return json_response({"error": "expected {url, headers?}"}, 400)
        self.webhook_url = body["url"]
        self.webhook_headers = {str(k): str(v) for k, v in (body.get("headers") or {}).items()}
        return json_response({"ok": True})

    async def _control_drain(self, request: Request) -> Response:
        """Answer once all background work (deliveries, events) is done."""
        await self.drain()
        return json_response({"ok": True})
