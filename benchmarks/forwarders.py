"""The hand-written bridges byoc is measured against, both directions, each in its own process.

    python benchmarks/forwarders.py floor|naive --freshchat URL --viber URL \\
        --freshchat-token T --viber-token T --public-key-file PEM [--port 0]

- **floor**: the least a correct bridge can do. A user message: verify Viber's HMAC, parse the
  JSON, look the user up in a dict, one POST to Freshchat. An agent reply: verify Freshchat's
  RSA signature, parse, look the user up, one POST to Viber. The dict is filled by each user's
  first message (user and conversation created then: the benchmark's warm-up); it lives in
  memory, so nothing survives a restart and nothing is retried.
- **naive**: the seed algorithm of the marketplace apps, which keeps no mapping. A user message:
  find the user by reference id (create it when missing), list its conversations, then post to
  the first (or create one): three calls. A reply: get the user to read its reference id, then
  send: two calls.

Both answer the webhook once the upstream call is done (2xx), 401 on a bad signature and 503
when upstream failed; routes are byoc's (`/channels/viber/webhook`, `/messaging/webhook`).
The plumbing is the fastest at hand: raw ASGI on uvicorn with uvloop and httptools, aiohttp as
the HTTP client.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from serving import serve

__all__ = ["Floor", "Forwarder", "Naive"]

JSON = "application/json"
SENDER = {"name": "Bench"}


class UpstreamFailed(Exception):
    """Freshchat or Viber did not answer as a success."""


class Forwarder:
    """Routing, signature checks and the two upstream clients shared by both bridges."""

    def __init__(
        self,
        *,
        freshchat: str,
        freshchat_token: str,
        viber: str,
        viber_token: str,
        public_key: RSAPublicKey,
    ) -> None:
        self.freshchat = freshchat.rstrip("/")
        self.viber = viber.rstrip("/")
        self.viber_key = viber_token.encode()
        self.public_key = public_key
        self.freshchat_headers = {"Authorization": f"Bearer {freshchat_token}", "Accept": JSON}
        self.viber_headers = {"X-Viber-Auth-Token": viber_token, "Content-Type": JSON}
        self.session: aiohttp.ClientSession | None = None
        self.channel_id: str | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = dict(scope["headers"])
        try:
            if scope["path"] == "/channels/viber/webhook":
                status = await self._inbound(body, headers)
            elif scope["path"] == "/messaging/webhook":
                status = await self._reply(body, headers)
            else:
                status = 404
        except UpstreamFailed:
            status = 503
        answer = b'{"ok":true}' if status == 200 else b'{"ok":false}'
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(answer)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": answer})

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.session is not None:
                    await self.session.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _inbound(self, body: bytes, headers: dict[bytes, bytes]) -> int:
        expected = hmac.new(self.viber_key, body, hashlib.sha256).hexdigest().encode()
        if not hmac.compare_digest(expected, headers.get(b"x-viber-content-signature", b"")):
            return 401
        event = json.loads(body)
        if event.get("event") != "message":
            return 200
        sender = event["sender"]
        await self.user_message(sender["id"], sender.get("name"), event["message"]["text"])
        return 200

    async def _reply(self, body: bytes, headers: dict[bytes, bytes]) -> int:
        try:
            signature = base64.b64decode(headers.get(b"x-freshchat-signature", b""))
            self.public_key.verify(signature, body, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return 401
        event = json.loads(body)
        message = event["data"]["message"] if event.get("action") == "message_create" else {}
        if message.get("actor_type") != "agent":
            return 200
        text = " ".join(p["text"]["content"] for p in message["message_parts"] if "text" in p)
        await self.agent_reply(message["user_id"], text)
        return 200

    async def user_message(self, viber_id: str, name: str | None, text: str) -> None:
        raise NotImplementedError

    async def agent_reply(self, freshchat_user: str, text: str) -> None:
        raise NotImplementedError

    # -- upstream calls ----------------------------------------------------------------------

    async def freshchat_call(self, method: str, path: str, body: Any = None) -> Any:
        assert self.session is not None
        data = None if body is None else json.dumps(body).encode()
        headers = (
            self.freshchat_headers
            if data is None
            else {**self.freshchat_headers, "Content-Type": JSON}
        )
        async with self.session.request(
            method, self.freshchat + path, data=data, headers=headers
        ) as response:
            answer = await response.read()
            if not 200 <= response.status < 300:
                raise UpstreamFailed(f"Freshchat {method} {path}: {response.status}")
        return answer

    async def viber_send(self, receiver: str, text: str) -> None:
        assert self.session is not None
        body = {"receiver": receiver, "type": "text", "text": text, "sender": SENDER}
        async with self.session.post(
            self.viber + "/send_message", data=json.dumps(body).encode(), headers=self.viber_headers
        ) as response:
            answer = json.loads(await response.read())
            if response.status != 200 or answer.get("status") != 0:
                raise UpstreamFailed(f"Viber send_message: {response.status} {answer}")

    async def new_conversation(self, user_id: str, message: dict[str, Any]) -> str:
        if self.channel_id is None:
            channels = json.loads(await self.freshchat_call("GET", "/channels"))["channels"]
            self.channel_id = channels[0]["id"]
        body = {
            "status": "new",
            "channel_id": self.channel_id,
            "users": [{"id": user_id}],
            "messages": [{**message, "channel_id": self.channel_id}],
        }
        return str(
            json.loads(await self.freshchat_call("POST", "/conversations", body))["conversation_id"]
        )


def user_message_body(user_id: str, text: str) -> dict[str, Any]:
    return {
        "message_parts": [{"text": {"content": text}}],
        "actor_type": "user",
        "actor_id": user_id,
        "message_type": "normal",
    }


class Floor(Forwarder):
    """One upstream call per message each way; the mapping is a dict."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conversations: dict[str, tuple[str, str]] = {}  # Viber id → (user, conversation)
        self.viber_ids: dict[str, str] = {}  # Freshchat user → Viber id

    async def user_message(self, viber_id: str, name: str | None, text: str) -> None:
        known = self.conversations.get(viber_id)
        if known is not None:
            user_id, conversation_id = known
            path = f"/conversations/{quote(conversation_id, safe='')}/messages"
            await self.freshchat_call("POST", path, user_message_body(user_id, text))
            return
        created = json.loads(
            await self.freshchat_call(
                "POST", "/users", {"reference_id": f"viber:{viber_id}", "first_name": name}
            )
        )
        user_id = str(created["id"])
        conversation_id = await self.new_conversation(user_id, user_message_body(user_id, text))
        self.conversations[viber_id] = (user_id, conversation_id)
        self.viber_ids[user_id] = viber_id

    async def agent_reply(self, freshchat_user: str, text: str) -> None:
        await self.viber_send(self.viber_ids[freshchat_user], text)


class Naive(Forwarder):
    """Looks everything up on every message."""

    async def user_message(self, viber_id: str, name: str | None, text: str) -> None:
        reference = quote(f"viber:{viber_id}", safe="")
        found = json.loads(await self.freshchat_call("GET", f"/users?reference_id={reference}"))
        if found["users"]:
            user_id = str(found["users"][0]["id"])
        else:
            body = {"reference_id": f"viber:{viber_id}", "first_name": name}
            user_id = str(json.loads(await self.freshchat_call("POST", "/users", body))["id"])
        path = f"/users/{quote(user_id, safe='')}/conversations"
        conversations = json.loads(await self.freshchat_call("GET", path))["conversations"]
        message = user_message_body(user_id, text)
        if conversations:
            conversation = quote(str(conversations[0]["id"]), safe="")
            await self.freshchat_call("POST", f"/conversations/{conversation}/messages", message)
        else:
            await self.new_conversation(user_id, message)

    async def agent_reply(self, freshchat_user: str, text: str) -> None:
        user = json.loads(
            await self.freshchat_call("GET", f"/users/{quote(freshchat_user, safe='')}")
        )
        await self.viber_send(str(user["reference_id"]).removeprefix("viber:"), text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=("floor", "naive"))
    parser.add_argument("--freshchat", required=True, help="Freshchat API URL (…/v2)")
    parser.add_argument("--freshchat-token", required=True)
    parser.add_argument("--viber", required=True, help="Viber API URL (…/pa)")
    parser.add_argument("--viber-token", required=True)
    parser.add_argument("--public-key-file", required=True, help="PEM of the webhook key")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    key = load_pem_public_key(Path(args.public_key_file).read_bytes())
    assert isinstance(key, RSAPublicKey)
    bridge = (Floor if args.kind == "floor" else Naive)(
        freshchat=args.freshchat,
        freshchat_token=args.freshchat_token,
        viber=args.viber,
        viber_token=args.viber_token,
        public_key=key,
    )
    serve(bridge, args.port)


if __name__ == "__main__":
    main()
