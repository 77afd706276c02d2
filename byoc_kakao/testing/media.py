"""Files simulated users send, served at signed URLs that expire like Kakao's CDN links.

A KakaoTalk photo reaches a bot as `https://talk.kakaocdn.net/dna/…/i_xxx.jpg?credential=…
&expires=…&signature=…`: the bridge must download it before it expires. The emulators hand out
URLs of the same shape on their own host and answer 403 once `expires` has passed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import quote

import attrs

from byoc.clock import Clock
from byoc.testing.routing import Request, Response, Router, json_response

__all__ = ["MediaShelf", "StoredMedia"]


@attrs.frozen(kw_only=True)
class StoredMedia:
    """One file on the shelf."""

    media_id: str
    name: str
    data: bytes
    content_type: str


class MediaShelf:
    """Keeps files and serves them at `GET {base_url}/dna/{id}/{name}?…signed query…`."""

    PREFIX = "/dna"

    def __init__(self, *, base_url: str, clock: Clock, ttl: float = 3600.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.ttl = ttl
        self._clock = clock
        self._key = secrets.token_bytes(32)
        self._items: dict[str, StoredMedia] = {}

    def _signature(self, media_id: str, expires: int) -> str:
        mac = hmac.new(self._key, f"{media_id}:{expires}".encode(), hashlib.sha256)
        return mac.hexdigest()[:32]

    def put(self, data: bytes, *, name: str, content_type: str) -> str:
        """Store `data`; its URL, valid for `ttl` seconds from now."""
        media_id = secrets.token_hex(8)
        self._items[media_id] = StoredMedia(
            media_id=media_id, name=name, data=data, content_type=content_type
        )
        expires = int(self._clock.time() + self.ttl)
        query = (
            f"credential={secrets.token_urlsafe(12)}&expires={expires}"
            f"&signature={self._signature(media_id, expires)}"
        )
        return f"{self.base_url}{self.PREFIX}/{media_id}/{quote(name)}?{query}"

    def get(self, media_id: str) -> StoredMedia | None:
        return self._items.get(media_id)

    def mount(self, router: Router) -> None:
        router.route("GET", self.PREFIX + "/{media_id}/{name}")(self._serve)

    async def _serve(self, request: Request) -> Response:
        item = self._items.get(request.params["media_id"])
        if item is None:
            return json_response({"error": "not found"}, 404)
        try:
            expires = int(request.query.get("expires", ""))
        except ValueError:
            return json_response({"error": "forbidden"}, 403)
        # Bytes: compare_digest refuses str with non-ASCII characters, which a URL may carry.
        signature = request.query.get("signature", "").encode("utf-8", "surrogatepass")
        expected = self._signature(item.media_id, expires).encode()
        valid = hmac.compare_digest(signature, expected)
        if not valid or self._clock.time() > expires:
            return json_response({"error": "forbidden: link expired or not signed"}, 403)
        return Response(status=200, body=item.data, content_type=item.content_type)
