"""`ViberEmulator`: a faithful fake of Viber's REST Bot API, with users who write to the bot.

```python
emulator = ViberEmulator(token="t0ken", callback_client=httpx.AsyncClient(transport=...))
viber = ViberChannel(auth_token="t0ken", sender_name="Shop", api_url=emulator.api_url,
                     http=emulator.client())
await viber.install("https://bridge.test/channels/viber/webhook")   # verified synchronously
alice = emulator.user(name="Alice")
await alice.send_text("hello")      # a signed `message` callback to the webhook
await emulator.drain()              # wait for callbacks instead of sleeping
```

## The Viber API, under `/pa`

`POST set_webhook`, `send_message`, `broadcast_message`, `get_user_details`, `get_online`;
`GET` or `POST get_account_info`. The token comes in the `X-Viber-Auth-Token` header or the
body's `auth_token` (status 2 otherwise); an unknown method is HTTP 404; bodies over 30 KB are
status 3; sending without a webhook set is status 10 (`webhookNotSet`). `set_webhook` posts a
signed `webhook` event to the URL before answering: anything but HTTP 200 is status 1 with a
Java-style text like the real service's. `send_message` checks
the documented limits (status 3 / 4), the receiver (5 unknown, 6 not subscribed) and the cap of
100 messages per user per hour without a reply (12), then answers a random 63-bit
`message_token` and schedules `delivered` and `seen` callbacks.

Callbacks are signed with the token, go out per user in order, and are retried on anything but
200 on `retry_schedule` until `retry_window` (an hour) has passed. Media the users send is
served under `/media/...` for an hour of the emulator's clock, then answers 404.

## Control endpoints, under `/_emulator`

Bodies are JSON objects; `user_id` names the user where one is needed (ids hold `/` and `+`,
so they never go in a path).

- `POST /_emulator/users` `{"name", "language", "country", "avatar", "id", "subscribed"}`:
  a new user; answers it, with its `id`. `GET /_emulator/users` lists them.
- `POST /_emulator/send` `{"user_id", "message", "data_base64", "file_name"}`: the user sends
  `message`, a Viber message object (`type` required); the answer holds its `message_token`.
  A picture, video or file without `media` takes the bytes of `data_base64`, served for an hour.
- `POST /_emulator/tap` `{"user_id", "text"}`: the user taps the reply button with that text
  on the keyboard shown (the last message's); 409 when there is none.
- `POST /_emulator/subscribe`, `/_emulator/unsubscribe` `{"user_id"}`: the `subscribed` /
  `unsubscribed` callbacks. `POST /_emulator/open` `{"user_id", "context"}`:
  `conversation_started`.
- `GET /_emulator/sent[?user_id=...]` (the id percent-encoded: it may hold `+`): the messages
  the bot sent, welcome messages included.
- `GET /_emulator/callbacks`: every callback, its attempts and outcome.
- `POST /_emulator/faults` `{"method", "status" | "http_status", "status_message",
  "retry_after", "times"}`: the next `times` calls of `method` fail so.
  `DELETE /_emulator/faults` clears them.
- `POST /_emulator/messages/{token}/fail` `{"desc"}`: a `failed` callback for a sent message.
- `POST /_emulator/drain`: answers once every pending callback is done.
- `GET /_emulator/webhook`: `{"url", "event_types"}`.
"""

from __future__ import annotations

import hmac
import json
import logging
import mimetypes
import secrets
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import attrs
import httpx
from typing_extensions import Self

from byoc.asgi import Receive, Scope, Send
from byoc.clock import Clock, SystemClock
from byoc.testing.routing import Request, Response, Router, json_response

from ..api import AUTH_HEADER, STATUS_NAMES
from ..limits import MAX_REQUEST_BYTES
from .callbacks import DEFAULT_RETRY_SCHEDULE, CallbackRecord, Callbacks
from .control import add_control_routes
from .users import SentMessage, SimulatedUser
from .validation import BAD_DATA, MISSING_DATA, validate_message

__all__ = [
    "ALL_EVENT_TYPES",
    "MANDATORY_EVENT_TYPES",
    "Fault",
    "ViberEmulator",
]

logger = logging.getLogger("byoc.viber.emulator")

ALL_EVENT_TYPES = (
    "subscribed",
    "unsubscribed",
    "webhook",
    "conversation_started",
    "client_status",
    "action",
    "delivered",
    "failed",
    "message",
    "seen",
)
"""What set_webhook echoes when `event_types` is left out (a real answer, in its order)."""

MANDATORY_EVENT_TYPES = frozenset({"message", "subscribed", "unsubscribed"})
FILTERABLE_EVENT_TYPES = frozenset({"delivered", "seen", "failed", "conversation_started"})
CHAT_HOSTNAME = "SN-CHAT-01_"
MEDIA_TTL = 3600.0
SEND_CAP = 100
SEND_CAP_WINDOW = 3600.0
DETAILS_CAP = 2
DETAILS_CAP_WINDOW = 12 * 3600.0


@attrs.frozen(kw_only=True)
class Fault:
    """How the next call of a method fails: an HTTP status, or a Viber `status` in a 200."""

    status: int | None = None
    status_message: str | None = None
    http_status: int | None = None
    retry_after: float | None = None


@attrs.frozen(kw_only=True)
class _Media:
    data: bytes
    content_type: str
    created: float


def _echo_event_types(requested: Sequence[str] | None) -> tuple[str, ...]:
    if requested is None:
        return ALL_EVENT_TYPES
    chosen = {e for e in requested if e in FILTERABLE_EVENT_TYPES} | MANDATORY_EVENT_TYPES
    # The real echo lists the two subscription events first, then the rest alphabetically.
    first = ("subscribed", "unsubscribed")
    return first + tuple(sorted(chosen - set(first)))


def _status(code: int, message: str | None = None, **extra: Any) -> Response:
    answer = {"status": code, "status_message": message or STATUS_NAMES.get(code, "failure")}
    return json_response({**answer, "chat_hostname": CHAT_HOSTNAME, **extra})


Handler = Callable[[dict[str, Any]], Awaitable[Response]]


class ViberEmulator:
    """Viber's bot API and its users, in process (an ASGI app) or on a port (`server.py`).

    - `token`: the bot's auth token; callbacks are signed with it.
    - `clock`: drives callback retries and media expiry; in tests a
      `byoc.testing.clock.FakeClock(autoadvance=True)` runs an hour of retries at once.
    - `callback_client`: posts callbacks (an `httpx.AsyncClient` on an ASGI app in tests);
      created, and closed by `aclose`, when None.
    - `public_url`: where the emulator is reached; media URLs start with it.
    - `retry_schedule` / `retry_window`: seconds between callback attempts, and for how long.
    - `send_delivered` / `send_seen`: whether each accepted message gets those callbacks.
    - `require_https`: refuse webhook URLs that are not https, as the real service does.
    - `webhook_url` / `event_types`: a webhook already set, without verification.
    """

    def __init__(
        self,
        *,
        token: str = "emulator-auth-token",
        clock: Clock | None = None,
        callback_client: httpx.AsyncClient | None = None,
        public_url: str = "http://viber.emulator",
        account_name: str = "byoc emulator",
        retry_schedule: Sequence[float] = DEFAULT_RETRY_SCHEDULE,
        retry_window: float = 3600.0,
        send_delivered: bool = True,
        send_seen: bool = True,
        require_https: bool = False,
        webhook_url: str | None = None,
        event_types: Sequence[str] | None = None,
    ) -> None:
        self.token = token
        self.clock: Clock = clock or SystemClock()
        self.public_url = public_url.rstrip("/")
        self.account_name = account_name
        self.send_delivered = send_delivered
        self.send_seen = send_seen
        self.require_https = require_https
        self.webhook: str | None = webhook_url or None
        self.event_types = _echo_event_types(event_types)
        self.users: dict[str, SimulatedUser] = {}
        self.sent: list[SentMessage] = []
        self.account_id = "pa:" + str(secrets.randbits(62))
        self._media: dict[str, _Media] = {}
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._callbacks = Callbacks(
            token=lambda: self.token,
            clock=self.clock,
            client=callback_client,
            retry_schedule=retry_schedule,
            retry_window=retry_window,
        )
        self.app = Router(not_found=lambda r: json_response({"error": "Not Found"}, 404))
        self._add_api_routes()
        self.app.route("GET", "/media/{media_id}/{name}")(self._serve_media)
        add_control_routes(self.app, self)
        self.app.on_shutdown.append(self.aclose)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    @property
    def api_url(self) -> str:
        """The base URL to give `ViberChannel(api_url=...)`."""
        return f"{self.public_url}/pa"

    @property
    def callbacks(self) -> list[CallbackRecord]:
        """Every callback sent (or given up), in the order they were started."""
        return self._callbacks.records

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        """An `httpx.AsyncClient` that reaches this emulator in process."""
        transport = httpx.ASGITransport(app=self.app)
        return httpx.AsyncClient(transport=transport, base_url=self.public_url, **kwargs)

    # -- test controls -----------------------------------------------------------------------

    def user(self, **profile: Any) -> SimulatedUser:
        """A new user (`name`, `avatar`, `language`, `country`, `api_version`, `id`,
        `subscribed`, `online`); they can write to the bot at once."""
        user = SimulatedUser(self, **profile)
        self.users[user.id] = user
        return user

    def sent_to(self, user_id: str) -> list[SentMessage]:
        """What the bot sent to `user_id`, oldest first."""
        return [m for m in self.sent if m.receiver == user_id]

    def fail_next(
        self,
        method: str,
        *,
        status: int | None = None,
        status_message: str | None = None,
        http_status: int | None = None,
        retry_after: float | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of `method` (`send_message`, ...) fail so."""
        if (status is None) == (http_status is None):
            raise ValueError("give either a Viber status or an HTTP status")
        fault = Fault(
            status=status,
            status_message=status_message,
            http_status=http_status,
            retry_after=retry_after,
        )
        self._faults[method].extend([fault] * times)

    def clear_faults(self) -> None:
        self._faults.clear()

    async def fail_message(self, token: int, desc: str = "message validation failed") -> None:
        """Report a sent message as failed on the device (a `failed` callback)."""
        sent = next((m for m in self.sent if m.token == token), None)
        if sent is None:
            raise KeyError(f"no message with token {token} was sent")
        payload = self._event("failed", message_token=token, user_id=sent.receiver, desc=desc)
        self._emit(self.users.get(sent.receiver), payload)

    def host_media(self, data: bytes, file_name: str, content_type: str | None = None) -> str:
        """Serve `data` for an hour (of the emulator's clock); its URL."""
        media_id = secrets.token_hex(12)
        guessed = mimetypes.guess_type(file_name, strict=False)[0]
        self._media[media_id] = _Media(
            data=data,
            content_type=content_type or guessed or "application/octet-stream",
            created=self.clock.time(),
        )
        return f"{self.public_url}/media/{media_id}/{quote(file_name)}"

    @property
    def pending(self) -> int:
        """Callbacks not yet answered 200 or given up (retries included)."""
        return self._callbacks.pending

    async def drain(self) -> None:
        """Wait until every pending callback was answered 200 or given up."""
        await self._callbacks.drain()

    async def aclose(self) -> None:
        await self._callbacks.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- what users do (called by SimulatedUser) ---------------------------------------------

    async def user_sends(self, user: SimulatedUser, message: dict[str, Any]) -> int:
        now = self.clock.time()
        # Writing subscribes the user, without a `subscribed` callback.
        user.subscribed = True
        user.last_message_at = now
        user.unanswered.clear()
        if user.tracking_data is not None and "tracking_data" not in message:
            message = {**message, "tracking_data": user.tracking_data}
        token = self._new_token()
        payload = self._event(
            "message", message_token=token, sender=user.as_json(), message=message, silent=False
        )
        self._emit(user, payload)
        return token

    async def user_subscribes(self, user: SimulatedUser) -> None:
        if user.subscribed:
            return
        user.subscribed = True
        # Subscribing clears the context of earlier conversations.
        user.tracking_data = None
        payload = self._event("subscribed", user=user.as_json(), message_token=self._new_token())
        self._emit(user, payload)

    async def user_unsubscribes(self, user: SimulatedUser) -> None:
        if not user.subscribed:
            return
        user.subscribed = False
        payload = self._event("unsubscribed", user_id=user.id, message_token=self._new_token())
        self._emit(user, payload)

    async def user_opens(self, user: SimulatedUser, context: str | None) -> None:
        fields: dict[str, Any] = {"type": "open"}
        if context is not None:
            fields["context"] = context
        payload = self._event(
            "conversation_started",
            message_token=self._new_token(),
            user=user.as_json(),
            subscribed=user.subscribed,
            **fields,
        )

        async def take_welcome(record: CallbackRecord, answer: bytes) -> None:
            self._take_welcome(user, answer)

        self._emit(user, payload, take_welcome)

    # -- internals ---------------------------------------------------------------------------

    def _new_token(self) -> int:
        # Real tokens are 63-bit and nearly always above 2**53, where floats lose digits.
        return secrets.randbits(63) | 1

    def _event(self, event: str, **fields: Any) -> dict[str, Any]:
        timestamp = int(self.clock.time() * 1000)
        return {"event": event, "timestamp": timestamp, "chat_hostname": CHAT_HOSTNAME, **fields}

    def _emit(
        self,
        user: SimulatedUser | None,
        payload: dict[str, Any],
        on_delivered: Callable[[CallbackRecord, bytes], Awaitable[None]] | None = None,
    ) -> None:
        event = payload["event"]
        if event not in MANDATORY_EVENT_TYPES and event not in self.event_types:
            return
        record = CallbackRecord(event=event, payload=payload, user_id=user.id if user else None)
        self._callbacks.send(lambda: self.webhook, record, on_delivered)

    def _take_welcome(self, user: SimulatedUser, answer: bytes) -> None:
        if not answer.strip():
            return
        try:
            body = json.loads(answer)
        except ValueError:
            logger.warning("conversation_started answer is not JSON; no welcome message shown")
            return
        if not isinstance(body, dict) or ("type" not in body and "keyboard" not in body):
            return
        problem = validate_message(body, welcome=True)
        if problem is not None:
            logger.warning("welcome message refused (status %d): %s", *problem)
            return
        self._accept(user, body, welcome=True)

    def _accept(
        self,
        user: SimulatedUser,
        body: Mapping[str, Any],
        *,
        welcome: bool = False,
        token: int | None = None,
    ) -> SentMessage:
        now = self.clock.time()
        shown = {k: v for k, v in body.items() if k != "auth_token"}
        sent = SentMessage(
            token=token or self._new_token(), receiver=user.id, body=shown, at=now, welcome=welcome
        )
        self.sent.append(sent)
        user.received.append(sent)
        tracking = body.get("tracking_data")
        user.tracking_data = tracking if isinstance(tracking, str) else None
        if welcome:
            return sent
        user.unanswered.append(now)
        for event, wanted in (("delivered", self.send_delivered), ("seen", self.send_seen)):
            if wanted:
                payload = self._event(event, message_token=sent.token, user_id=user.id)
                self._emit(user, payload)
        return sent

    def _billing_status(self, user: SimulatedUser) -> int:
        # The session length is not documented; a day since the user's last message is assumed.
        last = user.last_message_at
        in_session = last is not None and self.clock.time() - last < 24 * 3600
        return 1 if in_session else 3

    # -- the API -----------------------------------------------------------------------------

    def _add_api_routes(self) -> None:
        handlers: dict[str, Handler] = {
            "set_webhook": self._set_webhook,
            "send_message": self._send_message,
            "broadcast_message": self._broadcast_message,
            "get_user_details": self._get_user_details,
            "get_online": self._get_online,
            "get_account_info": self._get_account_info,
        }
        for method, handler in handlers.items():
            endpoint = self._endpoint(method, handler)
            self.app.route("POST", f"/pa/{method}")(endpoint)
            if method == "get_account_info":
                self.app.route("GET", f"/pa/{method}")(endpoint)

    def _endpoint(self, method: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            faults = self._faults.get(method)
            if faults:
                return self._fault(faults.popleft())
            try:
                body = json.loads(request.body) if request.body.strip() else {}
            except ValueError:
                body = None
            token = request.headers.get(AUTH_HEADER.lower())
            if token is None and isinstance(body, dict):
                token = body.get("auth_token")
            if not isinstance(token, str) or not hmac.compare_digest(
                token.encode(), self.token.encode()
            ):
                return _status(2, "invalidAuthToken")
            if not isinstance(body, dict):
                return _status(BAD_DATA, "badData: the body is not a JSON object")
            if len(request.body) > MAX_REQUEST_BYTES:
                return _status(BAD_DATA, "badData: the request is over 30 KB")
            return await handler(body)

        return endpoint

    def _fault(self, fault: Fault) -> Response:
        if fault.http_status is not None:
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = str(int(fault.retry_after))
            return Response(
                status=fault.http_status,
                body=b"<html><body>error</body></html>",
                content_type="text/html",
                headers=headers,
            )
        assert fault.status is not None
        return _status(fault.status, fault.status_message)

    async def _set_webhook(self, body: dict[str, Any]) -> Response:
        url = body.get("url")
        if url is None:
            return _status(MISSING_DATA, "missingData: url is required")
        if not isinstance(url, str):
            return _status(BAD_DATA, "badData: url must be a string")
        if url == "":
            self.webhook = None
            return _status(0)
        requested = body.get("event_types")
        if requested is not None and (
            not isinstance(requested, list) or not all(isinstance(e, str) for e in requested)
        ):
            return _status(BAD_DATA, "badData: event_types must be an array of strings")
        if self.require_https and not url.lower().startswith("https://"):
            return _status(1, "Invalid url: the webhook must be https")
        ping = self._event("webhook", message_token=self._new_token())
        failure = await self._callbacks.verify(url, ping)
        if failure is not None:
            return _status(1, failure)
        self.webhook = url
        self.event_types = _echo_event_types(requested)
        return _status(0, event_types=list(self.event_types))

    async def _send_message(self, body: dict[str, Any]) -> Response:
        if self.webhook is None:
            # Removing the webhook disables 1:1 chat: nothing can be sent until one is set.
            return _status(10)
        problem = validate_message(body)
        if problem is not None:
            return _status(*problem)
        user = self.users.get(body["receiver"])
        if user is None:
            return _status(5)
        if not user.subscribed:
            return _status(6)
        now = self.clock.time()
        user.unanswered[:] = [t for t in user.unanswered if now - t < SEND_CAP_WINDOW]
        if len(user.unanswered) >= SEND_CAP:
            return _status(12, "Too many requests", message_token=self._new_token())
        sent = self._accept(user, body)
        return _status(0, message_token=sent.token, billing_status=self._billing_status(user))

    async def _broadcast_message(self, body: dict[str, Any]) -> Response:
        if self.webhook is None:
            return _status(10)
        receivers = body.get("broadcast_list")
        if receivers is None:
            return _status(MISSING_DATA, "missingData: broadcast_list is required")
        if not isinstance(receivers, list) or not all(isinstance(r, str) for r in receivers):
            return _status(BAD_DATA, "badData: broadcast_list must be an array of ids")
        if not receivers or len(receivers) > 300:
            return _status(BAD_DATA, "badData: broadcast_list takes 1 to 300 ids")
        problem = validate_message(body, welcome=True)
        if problem is not None:
            return _status(*problem)
        token = self._new_token()
        # The per-receiver failed_list is seen only in third-party types [unverified].
        failed: list[dict[str, Any]] = []
        for receiver in receivers:
            user = self.users.get(receiver)
            code = 5 if user is None else 6 if not user.subscribed else 0
            if user is not None and code == 0:
                message = {k: v for k, v in body.items() if k != "broadcast_list"}
                self._accept(user, {**message, "receiver": receiver}, token=token)
            else:
                failed.append(
                    {"receiver": receiver, "status": code, "status_message": STATUS_NAMES[code]}
                )
        return _status(0, message_token=token, failed_list=failed)

    async def _get_user_details(self, body: dict[str, Any]) -> Response:
        user_id = body.get("id")
        if user_id is None:
            return _status(MISSING_DATA, "missingData: id is required")
        user = self.users.get(user_id) if isinstance(user_id, str) else None
        if user is None:
            return _status(5)
        now = self.clock.time()
        user.details_calls[:] = [t for t in user.details_calls if now - t < DETAILS_CAP_WINDOW]
        if len(user.details_calls) >= DETAILS_CAP:
            return _status(12, "Too many requests: 2 get_user_details per user per 12 hours")
        user.details_calls.append(now)
        details = {
            **user.as_json(),
            "primary_device_os": "android 14",
            "viber_version": "24.0.0.0",
            "mcc": 234,
            "mnc": 10,
            "device_type": "Pixel 8",
        }
        return _status(0, message_token=self._new_token(), user=details)

    async def _get_online(self, body: dict[str, Any]) -> Response:
        ids = body.get("ids")
        if ids is None:
            return _status(MISSING_DATA, "missingData: ids is required")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            return _status(BAD_DATA, "badData: ids must be an array of ids")
        if len(ids) > 100:
            return _status(BAD_DATA, "badData: at most 100 ids")
        names = {0: "online", 1: "offline", 4: "unavailable"}
        users = []
        for user_id in ids:
            user = self.users.get(user_id)
            code = 4 if user is None else 0 if user.online else 1
            users.append(
                {"id": user_id, "online_status": code, "online_status_message": names[code]}
            )
        return _status(0, users=users)

    async def _get_account_info(self, body: dict[str, Any]) -> Response:
        subscribers = sum(1 for u in self.users.values() if u.subscribed)
        return _status(
            0,
            id=self.account_id,
            name=self.account_name,
            uri="byocemulator",
            icon=f"{self.public_url}/static/icon.png",
            background=f"{self.public_url}/static/background.png",
            category="Support",
            subcategory="Customer service",
            location={"lon": 0.1, "lat": 51.5},
            country="GB",
            webhook=self.webhook or "",
            event_types=list(self.event_types) if self.webhook else [],
            subscribers_count=subscribers,
            members=[{"id": "01234567890A=", "name": "Admin", "role": "admin"}],
        )

    async def _serve_media(self, request: Request) -> Response:
        media = self._media.get(request.params["media_id"])
        if media is None or self.clock.time() - media.created >= MEDIA_TTL:
            # Viber media URLs live for an hour; after that the bridge must have its copy.
            return Response(status=404, body=b"Not Found", content_type="text/plain")
        return Response(body=media.data, content_type=media.content_type)
