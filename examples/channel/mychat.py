"""MyChat (an imaginary messenger) as a byoc channel: a complete plugin, in one file.

Registered in the entry-point group `byoc.channels` as `mychat`; reads `BYOC_MYCHAT_*`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from typing_extensions import Self

from byoc import (
    AccountCheck,
    Capabilities,
    Channel,
    ChannelEvent,
    HttpClientSlot,
    Image,
    InboundMessage,
    InstallResult,
    MalformedPayload,
    MediaStream,
    OutboundMessage,
    Part,
    SendResult,
    SignatureError,
    Text,
    UserUnreachable,
    WebhookRequest,
    open_media,
    parse_json_object,
    raise_for_status,
    require_setting,
    transport_errors,
)
from byoc.media import MediaPart

DEFAULT_API_URL = "https://api.mychat.example/v1"


class MyChatChannel(Channel):
    """MyChat bots: signed JSON webhooks in, a REST API out, files behind the bot's token."""

    name = "mychat"
    # MyChat shows text only: the bridge turns every other part into text with its link and
    # splits texts at 500 characters. Its file links need the token: copy files at once.
    capabilities = Capabilities(send=frozenset({Text}), max_text_length=500, media_urls_expire=True)

    def __init__(
        self, *, token: str, api_url: str = DEFAULT_API_URL, http: httpx.AsyncClient | None = None
    ) -> None:
        self.token = token
        self.api_url = api_url.rstrip("/")
        self._http = HttpClientSlot(http)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        return cls(
            token=require_setting(env, "BYOC_MYCHAT_TOKEN", "copy it from the MyChat console"),
            api_url=env.get("BYOC_MYCHAT_API_URL") or DEFAULT_API_URL,
        )

    async def parse(self, request: WebhookRequest) -> Sequence[ChannelEvent]:
        # Verify the exact bytes that arrived, before anything reads them.
        expected = hmac.new(self.token.encode(), request.body, hashlib.sha256).hexdigest()
        given = (request.header("x-mychat-signature") or "").encode("utf-8", "replace")
        if not hmac.compare_digest(expected.encode(), given):
            raise SignatureError("X-MyChat-Signature is missing or does not match the body")
        data = parse_json_object(request.body, what="MyChat webhook")
        text = data.get("text", "")
        if not isinstance(text, str):
            raise MalformedPayload("MyChat webhook: 'text' must be a string")
        parts: list[Part] = [Text(text=text)] if text else []
        if data.get("file") is not None:
            parts.append(_image(data["file"]))
        if not parts:
            raise MalformedPayload("MyChat webhook: a message has a text or a file")
        return [
            InboundMessage(
                channel=self.name,  # the instance's name: `mychat`, or `mychat-eu`
                user_id=_required(data, "from"),
                message_id=_required(data, "id"),  # the same on every retry: the dedupe key
                parts=parts,
            )
        ]

    async def send(self, user_id: str, message: OutboundMessage) -> SendResult:
        # All Text of at most 500 characters: the bridge fitted the reply to `capabilities`.
        texts = [part.text for part in message.parts if isinstance(part, Text) and part.text]
        sent = [await self._call("POST", "/messages", {"to": user_id, "text": t}) for t in texts]
        return SendResult(message_ids=[str(answer.get("id", "")) for answer in sent])

    async def fetch_media(self, part: MediaPart, *, max_bytes: int) -> MediaStream:
        file_id = part.url.removeprefix("mychat-file:")
        return await open_media(
            self._http.client,
            f"{self.api_url}/files/{file_id}",
            headers=self._auth,
            max_bytes=max_bytes,
            what=f"MyChat file {file_id}",
        )

    async def install(self, target_url: str) -> InstallResult:
        await self._call("PUT", "/webhook", {"url": target_url})
        return InstallResult(target_url=target_url, registered=True)

    async def uninstall(self) -> None:
        await self._call("DELETE", "/webhook")

    async def check(self) -> AccountCheck:
        me = await self._call("GET", "/me")
        return AccountCheck(account=me.get("name"), webhook=me.get("webhook"), reports_webhook=True)

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def _call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        what = f"MyChat {method} {path}"
        with transport_errors(what, url_setting="BYOC_MYCHAT_API_URL"):
            response = await self._http.client.request(
                method, self.api_url + path, json=body, headers=self._auth
            )
        said = f"{what} answered HTTP {response.status_code}"
        if response.status_code == 403 and path == "/messages":
            raise UserUnreachable(f"{said}: the user blocked the bot", user_id=body["to"])
        raise_for_status(response, said, credentials="check BYOC_MYCHAT_TOKEN")
        answer = response.json() if response.content else {}
        return answer if isinstance(answer, dict) else {}


def _required(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedPayload(f"MyChat webhook: {key!r} must be a non-empty string")
    return value


def _image(file: Any) -> Image:
    # The file's URL needs the bot's token: the part carries only its id, which is no secret.
    if not isinstance(file, dict):
        raise MalformedPayload("MyChat webhook: 'file' must be an object")
    return Image(url=f"mychat-file:{_required(file, 'id')}", name=str(file.get("name", "")))
