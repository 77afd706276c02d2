"""MyChat's API as an ASGI app: what `MyChatChannel` calls, and the users who write to it.

MyChat (imaginary) signs each webhook with the hex HMAC-SHA256 of its body, keyed by the
bot's token, in `X-MyChat-Signature`; its API (`/v1`, `Authorization: Bearer <token>`) is:

- `POST /v1/messages` `{"to", "text" ≤ 500}` → 201 `{"id"}`; 403 when the user blocked the bot;
- `GET /v1/files/{id}`: a file users sent (only with the token);
- `PUT /v1/webhook` `{"url"}`, `DELETE /v1/webhook`, `GET /v1/me` → `{"name", "webhook"}`.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
from collections import defaultdict

import attrs

from byoc.testing.network import VirtualNetwork
from byoc.testing.routing import Request, Response, Router, json_response
from byoc.webhook import WebhookRequest

__all__ = ["MyChatEmulator"]


class MyChatEmulator(Router):
    """The API at `api_url`, served on `network` when given; `inbox` holds what each user
    received, `blocked` who blocked the bot."""

    host = "mychat.test"
    api_url = f"http://{host}/v1"

    def __init__(self, network: VirtualNetwork | None = None) -> None:
        super().__init__()
        self.token = secrets.token_urlsafe(24)
        self.webhook: str | None = None
        self.inbox: dict[str, list[str]] = defaultdict(list)
        self.blocked: set[str] = set()
        self.files: dict[str, tuple[bytes, str]] = {}
        self._ids = itertools.count(1)
        self.route("POST", "/v1/messages")(self._send)
        self.route("GET", "/v1/files/{file_id}")(self._file)
        self.route("PUT", "/v1/webhook")(self._set_webhook)
        self.route("DELETE", "/v1/webhook")(self._delete_webhook)
        self.route("GET", "/v1/me")(self._me)
        if network is not None:
            network.add(self.host, self)

    # -- what a user does ----------------------------------------------------------------------

    def webhook_request(
        self, user: str, *, text: str = "", file: bytes | None = None, name: str = "photo.png"
    ) -> WebhookRequest:
        """The signed webhook MyChat sends when `user` writes `text` and/or sends `file`."""
        payload: dict[str, object] = {"id": f"m{next(self._ids)}", "from": user, "text": text}
        if file is not None:
            file_id = secrets.token_hex(8)
            self.files[file_id] = (file, "image/png")
            payload["file"] = {"id": file_id, "name": name, "type": "image/png"}
        return self.sign(WebhookRequest(body=json.dumps(payload).encode()))

    def sign(self, request: WebhookRequest, how: str = "valid") -> WebhookRequest:
        """`request` signed with the bot's token (`valid`), another key (`forged`) or not at
        all (`missing`)."""
        key = self.token if how == "valid" else "forged"
        digest = hmac.new(key.encode(), request.body, hashlib.sha256).hexdigest()
        headers = {} if how == "missing" else {"X-MyChat-Signature": digest}
        return attrs.evolve(request, headers=headers)

    # -- the API -------------------------------------------------------------------------------

    def _authorised(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.token}"

    async def _send(self, request: Request) -> Response:
        if not self._authorised(request):
            return json_response({"error": "bad token"}, 401)
        body = request.json()
        text, to = body.get("text"), body.get("to")
        if not isinstance(text, str) or not 0 < len(text) <= 500 or not isinstance(to, str):
            return json_response({"error": "to and text (1 to 500 characters) are required"}, 400)
        if to in self.blocked:
            return json_response({"error": "the user blocked the bot"}, 403)
        self.inbox[to].append(text)
        return json_response({"id": f"out-{next(self._ids)}"}, 201)

    async def _file(self, request: Request) -> Response:
        found = self.files.get(request.params["file_id"])
        if not self._authorised(request) or found is None:
            return json_response({"error": "no such file"}, 401 if found else 404)
        return Response(body=found[0], content_type=found[1])

    async def _set_webhook(self, request: Request) -> Response:
        if not self._authorised(request):
            return json_response({"error": "bad token"}, 401)
        self.webhook = request.json()["url"]
        return json_response({"url": self.webhook})

    async def _delete_webhook(self, request: Request) -> Response:
        if not self._authorised(request):
            return json_response({"error": "bad token"}, 401)
        self.webhook = None
        return Response(status=204)

    async def _me(self, request: Request) -> Response:
        if not self._authorised(request):
            return json_response({"error": "bad token"}, 401)
        return json_response({"name": "MyChat Support", "webhook": self.webhook})
