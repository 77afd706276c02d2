"""A minimal in-test Freshchat: the v2 routes the client calls, answering with the envelopes and
error bodies of the API reference. Kept small on purpose: it is faithful on the wire only for
what these tests look at (no webhooks, no conversation state rules)."""

from __future__ import annotations

import asyncio
import base64
import itertools
from collections.abc import Callable
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from byoc.testing.routing import Request, Response, Router, json_response

API_URL = "https://acme.freshchat.com/v2"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJhY2NvdW50IjoiYWNtZSJ9.c2VjcmV0LXNpZ25hdHVyZQ"
CHANNEL_ID = "1aaf6a4e-2b5c-4fd9-9d3c-8f0a3f4b9e10"
APP_ID = "d6235e4c-1e9e-4c5e-9a4a-53f1c5d0a0b1"

_UNAUTHORIZED = {"code": 401, "status": "UNAUTHORIZED", "message": "Invalid authorization token"}


class FakeFreshchat:
    """Freshchat v2 on `https://acme.freshchat.com/v2`, in process.

    `requests` records every API call; `answer(...)` queues responses that replace the default
    of the next calls (error injection); `media` holds files served on any host under `/media/`.
    When `gate` is set, API calls wait for it after `arrived` is set (to hold calls in flight).
    """

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.downloads: list[Request] = []
        self.queued: list[Response] = []
        self.users: list[dict[str, Any]] = []
        self.conversations: dict[str, list[str]] = {}
        self.channels: list[dict[str, Any]] = [
            {"id": "0d1e-disabled", "name": "Old", "enabled": False, "public": True},
            {"id": CHANNEL_ID, "name": "Inbox", "enabled": True, "public": True, "tags": []},
        ]
        self.media: dict[str, tuple[bytes, str]] = {}
        self.gate: asyncio.Event | None = None
        self.arrived = asyncio.Event()
        self._ids = itertools.count(1)
        self.router = Router(
            not_found=lambda r: json_response(
                {"code": 404, "status": "NOT_FOUND", "message": "resource not found"}, 404
            )
        )
        api: list[tuple[str, str, Callable[[Request], Response]]] = [
            ("GET", "/v2/users", self._find_users),
            ("POST", "/v2/users", self._create_user),
            ("GET", "/v2/users/{user_id}", self._get_user),
            ("GET", "/v2/users/{user_id}/conversations", self._user_conversations),
            ("POST", "/v2/conversations", self._create_conversation),
            ("GET", "/v2/conversations/{conversation_id}", self._conversation),
            ("PUT", "/v2/conversations/{conversation_id}", self._conversation),
            ("POST", "/v2/conversations/{conversation_id}/messages", self._post_message),
            ("GET", "/v2/conversations/{conversation_id}/messages", self._messages),
            ("GET", "/v2/channels", self._channels),
            ("GET", "/v2/accounts/configuration", self._configuration),
            ("POST", "/v2/images/upload", self._upload_image),
            ("POST", "/v2/files/upload", self._upload_file),
        ]
        for method, pattern, default in api:
            self.router.route(method, pattern)(self._authorized(default))
        self.router.route("GET", "/media/{name}")(self._download)

    def answer(self, response: Response) -> None:
        self.queued.append(response)

    def transport(self) -> httpx.ASGITransport:
        return httpx.ASGITransport(app=self.router)

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.transport())

    def calls(self, method: str, path: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path == path]

    def _authorized(self, default: Callable[[Request], Response]) -> Callable[[Request], Any]:
        async def handler(request: Request) -> Response:
            self.requests.append(request)
            self.arrived.set()
            if self.gate is not None:
                await self.gate.wait()
            if request.headers.get("authorization") != f"Bearer {TOKEN}":
                return json_response(_UNAUTHORIZED, 401)
            if self.queued:
                return self.queued.pop(0)
            return default(request)

        return handler

    def _new_id(self, kind: str) -> str:
        return f"{kind}-{next(self._ids):04d}-8d83-0603e03d2521"

    # -- default answers, shaped as in the reference -------------------------------------------

    def _find_users(self, request: Request) -> Response:
        ref = request.query.get("reference_id")
        users = [u for u in self.users if u.get("reference_id") == ref]
        return json_response(
            {
                "users": users,
                "pagination": {
                    "total_items": len(users),
                    "total_pages": 1,
                    "current_page": 1,
                    "items_per_page": 10,
                },
                "links": {},
            }
        )

    def _create_user(self, request: Request) -> Response:
        user = {
            **request.json(),
            "id": self._new_id("user"),
            "created_time": "2024-05-01T10:00:00.000Z",
            "updated_time": "2024-05-01T10:00:00.000Z",
            "login_status": False,
        }
        self.users.append(user)
        return json_response(user)

    def _get_user(self, request: Request) -> Response:
        for user in self.users:
            if user["id"] == request.params["user_id"]:
                return json_response(user)
        return json_response(
            {"code": 404, "status": "USER_NOT_FOUND", "message": "user not found"}, 404
        )

    def _user_conversations(self, request: Request) -> Response:
        ids = self.conversations.get(request.params["user_id"], [])
        return json_response({"conversations": [{"id": i} for i in ids]})

    def _create_conversation(self, request: Request) -> Response:
        body = request.json()
        conversation_id = self._new_id("conv")
        user_id = body["users"][0]["id"]
        self.conversations.setdefault(user_id, []).insert(0, conversation_id)
        messages = [
            {**m, "id": self._new_id("msg"), "conversation_id": conversation_id}
            for m in body["messages"]
        ]
        return json_response(
            {
                "conversation_id": conversation_id,
                "conversation_internal_id": 1019183591791880,
                "app_id": APP_ID,
                "status": "new",
                "channel_id": body["channel_id"],
                "user_id": user_id,
                "messages": messages,
            }
        )

    def _conversation(self, request: Request) -> Response:
        return json_response(
            {
                "conversation_id": request.params["conversation_id"],
                "app_id": APP_ID,
                "status": "new",
                "channel_id": CHANNEL_ID,
                "skill_id": 0,
            }
        )

    def _post_message(self, request: Request) -> Response:
        return json_response(
            {
                **request.json(),
                "id": self._new_id("msg"),
                "conversation_id": request.params["conversation_id"],
                "created_time": "2024-05-01T10:00:01.000Z",
            }
        )

    def _messages(self, request: Request) -> Response:
        return json_response({"messages": []})

    def _channels(self, request: Request) -> Response:
        return json_response(
            {
                "channels": self.channels,
                "pagination": {
                    "total_items": len(self.channels),
                    "total_pages": 1,
                    "current_page": 1,
                    "items_per_page": 100,
                },
                "links": {},
            }
        )

    def _configuration(self, request: Request) -> Response:
        return json_response(
            {
                "account_id": "227655214724132",
                "app_id": APP_ID,
                "account_domain": "acme.freshchat.com",
                "datacenter": "US",
            }
        )

    def _upload_image(self, request: Request) -> Response:
        if b'name="image"' not in request.body:
            return _bad_request("image is missing")
        return json_response(
            {
                "id": "img-0001",
                "url": "https://assets.freshchat.com/images/img-0001.jpg",
                "name": "photo.jpg",
                "content_type": "image/jpeg",
                "width": 1,
                "height": 1,
            }
        )

    def _upload_file(self, request: Request) -> Response:
        if b'name="file"' not in request.body:
            return _bad_request("file is missing")
        return json_response(
            {
                "file_name": "report.pdf",
                "file_size": 4,
                "file_content_type": "application/pdf",
                "file_extension_type": "pdf",
                "file_hash": "f1e2d3c4b5a6",
                "file_security_status": "SAFE_FILE",
            }
        )

    async def _download(self, request: Request) -> Response:
        self.downloads.append(request)
        if request.params["name"] not in self.media:
            return Response(status=404, body=b"<html>gone</html>", content_type="text/html")
        content, content_type = self.media[request.params["name"]]
        return Response(body=content, content_type=content_type)


def _bad_request(message: str) -> Response:
    return json_response({"code": 400, "status": "INVALID_VALUE", "message": message}, 400)


def sign(private_key: rsa.RSAPrivateKey, body: bytes) -> str:
    """What Freshchat puts in `X-Freshchat-Signature`."""
    signature = private_key.sign(body, padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")
