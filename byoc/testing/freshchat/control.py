"""Control endpoints under `/_emulator`: play the agent, read state, arm faults, route webhooks.

They let a test in another process, a benchmark or the demo drive the emulator over HTTP,
exactly as the Python methods of `FreshchatEmulator` do in-process. They need no token unless
the emulator was made with `control_token=...`; then they need `Authorization: Bearer
<control_token>` (except `/_emulator/files/{id}`, which serves upload URLs and is always public).
Errors use Freshchat's error body. Bodies are JSON; an empty body means `{}`.

- `GET /_emulator/files/{id}`: the uploaded bytes, with their content type.
- `GET /_emulator/public-key`: `{"public_key_text", "public_key_pem"}`; paste the text into
  the bridge's settings.
- `GET /_emulator/webhook`: `{"url", "payload", "pending", "attempts"}` (the last 100).
- `PUT /_emulator/webhook` `{"url": str | null, "payload"?: "webhook" | "marketplace"}`:
  route the webhooks; answers as GET.
- `POST /_emulator/drain`: answers `{"pending": 0}` once every webhook delivery, retries
  included, has finished.
- `GET /_emulator/users?reference_id=...`: `{"users": [...]}` (every user without it).
- `GET /_emulator/conversations`: `{"conversations": [...]}`, the most recent first.
- `GET /_emulator/conversations/{id}/messages`: `{"messages": [...]}`, **oldest first**.
- `POST /_emulator/conversations/{id}/reply` `{"text"?, "parts"?, "reply_parts"?,
  "agent_id"?}`: the agent's message (text first, then parts of any kind).
- `POST /_emulator/conversations/{id}/note` `{"text", "agent_id"?}`: the private note.
- `POST /_emulator/conversations/{id}/resolve` and `.../reopen` `{"agent_id"?}`: the
  conversation.
- `POST /_emulator/conversations/{id}/assign` `{"agent_id"?, "group_id"?, "by_agent_id"?}`:
  the conversation.
- `GET /_emulator/faults`: `{"faults": [{..., "remaining"}], "webhook_copies"}`.
- `POST /_emulator/faults` with a fault (`Fault.to_json()`) or
  `{"kind": "duplicate_webhooks", "copies": k}`: arm it; answers as GET.
- `DELETE /_emulator/faults`: clear every fault; `POST /_emulator/faults/release`: end
  the hangs in progress; both answer as GET.
- `GET /_emulator/calls`: `{"calls": [{"method", "route", "count"}], "total"}`;
  `DELETE /_emulator/calls` resets the counts and answers as GET.

`agent_id` defaults to the seeded agent. A fault looks like
`{"kind": "status", "status": 429, "retry_after": 1, "times": 2, "method": "POST",
"route": "/v2/conversations/{id}/messages"}`; see `faults.Fault` for every kind.
"""

from __future__ import annotations

from typing import Any

from ..emulation.control import ControlRoutes
from ..routing import Request, Response, Router, json_response
from .events import PAYLOAD_MODES
from .faults import Fault
from .host import EmulatorHost
from .payloads import json_object
from .wire import ApiError, conversation_json, not_found, user_json

__all__ = ["register_control"]

_ATTEMPTS_SHOWN = 100


def _body(request: Request) -> dict[str, Any]:
    return json_object(request.body) if request.body.strip() else {}


def _optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise ApiError.invalid(f"{key} must be a string")
    return value


def register_control(router: Router, emulator: EmulatorHost) -> None:
    """Add the `/_emulator` routes of `emulator` to `router`."""

    routes = ControlRoutes(
        router,
        emulator,
        respond=json_response,
        invalid=ApiError.invalid,
        unauthorized=ApiError(401, "UNAUTHORIZED", "Invalid control token"),
    )
    control = routes.route

    @control("GET", "/_emulator/public-key")
    async def public_key(request: Request) -> Response:
        return json_response(
            {"public_key_text": emulator.public_key_text, "public_key_pem": emulator.public_key_pem}
        )

    def webhook_state() -> Response:
        attempts = list(emulator.webhooks.attempts)[-_ATTEMPTS_SHOWN:]
        return json_response(
            {
                "url": emulator.webhook_url,
                "payload": emulator.payload,
                "pending": emulator.webhooks.pending,
                "attempts": [
                    {
                        "action": a.action,
                        "conversation_id": a.conversation_id,
                        "retry_count": a.retry_count,
                        "status_code": a.status_code,
                        "error": a.error,
                    }
                    for a in attempts
                ],
            }
        )

    @control("GET", "/_emulator/webhook")
    async def get_webhook(request: Request) -> Response:
        return webhook_state()

    @control("PUT", "/_emulator/webhook")
    async def set_webhook(request: Request) -> Response:
        body = _body(request)
        payload = body.get("payload", emulator.payload)
        if payload not in PAYLOAD_MODES:
            raise ApiError.invalid(f"payload must be one of {', '.join(PAYLOAD_MODES)}")
        try:
            emulator.webhook_url = _optional_str(body, "url")
        except ValueError as exc:
            raise ApiError.invalid(str(exc)) from exc
        emulator.payload = payload
        return webhook_state()

    @control("POST", "/_emulator/drain")
    async def drain(request: Request) -> Response:
        await emulator.drain()
        return json_response({"pending": emulator.webhooks.pending})

    @control("GET", "/_emulator/users")
    async def users(request: Request) -> Response:
        reference_id = request.query.get("reference_id")
        state = emulator.state
        found = (
            state.users_by_reference(reference_id)
            if reference_id is not None
            else list(state.users.values())
        )
        return json_response({"users": [user_json(u) for u in found]})

    @control("GET", "/_emulator/conversations")
    async def conversations(request: Request) -> Response:
        state = emulator.state
        newest_first = sorted(state.conversations.values(), key=lambda c: -c.created)
        return json_response({"conversations": [conversation_json(c, state) for c in newest_first]})

    @control("GET", "/_emulator/conversations/{id}/messages")
    async def messages(request: Request) -> Response:
        return json_response({"messages": emulator.conversation_messages(request.params["id"])})

    @control("POST", "/_emulator/conversations/{id}/reply")
    async def reply(request: Request) -> Response:
        body = _body(request)
        message = await emulator.agent_reply(
            request.params["id"],
            _optional_str(body, "text"),
            parts=body.get("parts"),
            reply_parts=body.get("reply_parts"),
            agent_id=_optional_str(body, "agent_id"),
        )
        return json_response(message)

    @control("POST", "/_emulator/conversations/{id}/note")
    async def note(request: Request) -> Response:
        body = _body(request)
        text = _optional_str(body, "text")
        if not text:
            raise ApiError.invalid("text is required")
        message = await emulator.private_note(
            request.params["id"], text, agent_id=_optional_str(body, "agent_id")
        )
        return json_response(message)

    @control("POST", "/_emulator/conversations/{id}/resolve")
    async def resolve(request: Request) -> Response:
        agent_id = _optional_str(_body(request), "agent_id")
        return json_response(await emulator.resolve(request.params["id"], agent_id=agent_id))

    @control("POST", "/_emulator/conversations/{id}/reopen")
    async def reopen(request: Request) -> Response:
        agent_id = _optional_str(_body(request), "agent_id")
        return json_response(await emulator.reopen(request.params["id"], agent_id=agent_id))

    @control("POST", "/_emulator/conversations/{id}/assign")
    async def assign(request: Request) -> Response:
        body = _body(request)
        conversation = await emulator.assign(
            request.params["id"],
            agent_id=_optional_str(body, "agent_id"),
            group_id=_optional_str(body, "group_id"),
            by_agent_id=_optional_str(body, "by_agent_id"),
        )
        return json_response(conversation)

    routes.add_fault_routes(_body, Fault.from_json)
    routes.add_call_routes()

    # Upload URLs are fetched by whoever receives a message, with no Freshchat token: public.
    @router.route("GET", "/_emulator/files/{id}")
    async def serve_file(request: Request) -> Response:
        upload = emulator.state.uploads.get(request.params["id"])
        if upload is None:
            return not_found("file", request.params["id"]).response()
        return Response(status=200, body=upload.data, content_type=upload.content_type)
