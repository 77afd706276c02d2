"""The emulator's `/_emulator/...` control endpoints (listed in `emulator.py`'s docstring).

They let a test, a demo or a person with `curl` drive the simulated users of an emulator
running in another process (`byoc emulate viber`). User ids go in bodies, not paths: Viber ids
are base64 and hold `/` and `+`.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Protocol

from byoc.testing.routing import Request, Response, Router, json_response

from .callbacks import CallbackRecord
from .users import SentMessage, SimulatedUser

__all__ = ["add_control_routes"]

_PROFILE_KEYS = ("id", "name", "avatar", "language", "country", "api_version", "subscribed")


def _body(request: Request) -> dict[str, Any] | None:
    if not request.body.strip():
        return {}
    try:
        body = json.loads(request.body)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _error(message: str, status: int = 400) -> Response:
    return json_response({"error": message}, status)


def _user_json(user: SimulatedUser) -> dict[str, Any]:
    return {**user.as_json(), "subscribed": user.subscribed}


def _sent_json(message: SentMessage) -> dict[str, Any]:
    return {
        "message_token": message.token,
        "receiver": message.receiver,
        "welcome": message.welcome,
        "at": message.at,
        "body": dict(message.body),
    }


class ControlledEmulator(Protocol):
    """What the control routes drive (`ViberEmulator` is one)."""

    users: dict[str, SimulatedUser]
    sent: list[SentMessage]
    webhook: str | None
    event_types: tuple[str, ...]

    @property
    def callbacks(self) -> list[CallbackRecord]: ...

    def user(self, **profile: Any) -> SimulatedUser: ...

    def sent_to(self, user_id: str) -> list[SentMessage]: ...

    def host_media(self, data: bytes, file_name: str, content_type: str | None = None) -> str: ...

    def fail_next(
        self,
        method: str,
        *,
        status: int | None = None,
        status_message: str | None = None,
        http_status: int | None = None,
        retry_after: float | None = None,
        times: int = 1,
    ) -> None: ...

    def clear_faults(self) -> None: ...

    async def fail_message(self, token: int, desc: str = "message validation failed") -> None: ...

    async def drain(self) -> None: ...


def add_control_routes(router: Router, emulator: ControlledEmulator) -> None:
    """Register the control endpoints of `emulator` on `router`."""

    def find(body: dict[str, Any] | None) -> SimulatedUser | None:
        user_id = body.get("user_id") if body else None
        return emulator.users.get(user_id) if isinstance(user_id, str) else None

    def user_request(request: Request) -> tuple[dict[str, Any], SimulatedUser] | Response:
        """The body and the user it names, or the 404 saying there is no such user."""
        body = _body(request)
        user = find(body)
        if body is None or user is None:
            return _error("no user with that 'user_id'", 404)
        return body, user

    @router.route("POST", "/_emulator/users")
    async def create_user(request: Request) -> Response:
        body = _body(request)
        if body is None:
            return _error("the body must be a JSON object")
        profile = {k: body[k] for k in _PROFILE_KEYS if k in body}
        try:
            user = emulator.user(**profile)
        except TypeError as exc:
            return _error(str(exc))
        return json_response(_user_json(user), 201)

    @router.route("GET", "/_emulator/users")
    async def list_users(request: Request) -> Response:
        return json_response([_user_json(u) for u in emulator.users.values()])

    @router.route("POST", "/_emulator/send")
    async def user_sends(request: Request) -> Response:
        found = user_request(request)
        if isinstance(found, Response):
            return found
        body, user = found
        message = body.get("message")
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            return _error("'message' must be a Viber message object with a 'type'")
        message = dict(message)
        if message["type"] in ("picture", "video", "file") and "media" not in message:
            try:
                raw = base64.b64decode(body.get("data_base64") or "", validate=True)
            except (binascii.Error, TypeError):
                return _error("data_base64 is not base64")
            file_name = body.get("file_name")
            file_name = file_name if isinstance(file_name, str) and file_name else "upload.bin"
            message["media"] = emulator.host_media(raw, file_name)
            if message["type"] == "file":
                message.update(file_name=file_name, file_size=len(raw))
            elif message["type"] == "video":
                message.setdefault("size", len(raw))
            else:
                message.setdefault("text", "")
        token = await user.send(message)
        return json_response({"message_token": token})

    @router.route("POST", "/_emulator/tap")
    async def user_taps(request: Request) -> Response:
        found = user_request(request)
        if isinstance(found, Response):
            return found
        body, user = found
        text = body.get("text")
        if not isinstance(text, str):
            return _error("'text' must name a button of the keyboard the user sees")
        try:
            token = await user.tap(text)
        except LookupError as exc:
            return _error(str(exc), 409)
        return json_response({"message_token": token})

    @router.route("POST", "/_emulator/subscribe")
    async def subscribe(request: Request) -> Response:
        user = find(_body(request))
        if user is None:
            return _error("no user with that 'user_id'", 404)
        await user.subscribe()
        return json_response(_user_json(user))

    @router.route("POST", "/_emulator/unsubscribe")
    async def unsubscribe(request: Request) -> Response:
        user = find(_body(request))
        if user is None:
            return _error("no user with that 'user_id'", 404)
        await user.unsubscribe()
        return json_response(_user_json(user))

    @router.route("POST", "/_emulator/open")
    async def open_chat(request: Request) -> Response:
        found = user_request(request)
        if isinstance(found, Response):
            return found
        body, user = found
        context = body.get("context")
        await user.open(context if isinstance(context, str) else None)
        return json_response(_user_json(user))

    @router.route("GET", "/_emulator/sent")
    async def sent(request: Request) -> Response:
        user_id = request.query.get("user_id")
        messages = emulator.sent_to(user_id) if user_id else emulator.sent
        return json_response([_sent_json(m) for m in messages])

    @router.route("GET", "/_emulator/callbacks")
    async def callbacks(request: Request) -> Response:
        return json_response(
            [
                {
                    "event": r.event,
                    "user_id": r.user_id,
                    "attempts": r.attempts,
                    "delivered": r.delivered,
                    "gave_up": r.gave_up,
                    "payload": r.payload,
                }
                for r in emulator.callbacks
            ]
        )

    @router.route("POST", "/_emulator/faults")
    async def add_fault(request: Request) -> Response:
        body = _body(request)
        if body is None or not isinstance(body.get("method"), str):
            return _error("the body needs 'method' and 'status' or 'http_status'")
        times = body.get("times", 1)
        try:
            emulator.fail_next(
                body["method"],
                status=body.get("status"),
                status_message=body.get("status_message"),
                http_status=body.get("http_status"),
                retry_after=body.get("retry_after"),
                times=times if isinstance(times, int) else 1,
            )
        except ValueError as exc:
            return _error(str(exc))
        return json_response({"ok": True}, 201)

    @router.route("DELETE", "/_emulator/faults")
    async def clear_faults(request: Request) -> Response:
        emulator.clear_faults()
        return json_response({"ok": True})

    @router.route("POST", "/_emulator/messages/{token}/fail")
    async def fail_message(request: Request) -> Response:
        body = _body(request) or {}
        desc = body.get("desc")
        try:
            token = int(request.params["token"])
            await emulator.fail_message(token, desc if isinstance(desc, str) else "failed")
        except (ValueError, KeyError) as exc:
            return _error(str(exc), 404)
        return json_response({"ok": True})

    @router.route("POST", "/_emulator/drain")
    async def drain(request: Request) -> Response:
        await emulator.drain()
        return json_response({"ok": True})

    @router.route("GET", "/_emulator/webhook")
    async def webhook(request: Request) -> Response:
        events = list(emulator.event_types) if emulator.webhook else []
        return json_response({"url": emulator.webhook, "event_types": events})
