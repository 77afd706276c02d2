"""`MediaHost`: files on a `VirtualNetwork`, as a CDN or a web server holding attachments.

Agents link pictures, videos and documents that live somewhere on the web; channels then
download them or ask for their size (Viber needs the byte size of videos and files). A
`MediaHost` serves such files in process:

```python
cdn = MediaHost("http://cdn.test")
rig.network.add("cdn.test", cdn)
url = cdn.put("clip.mp4", mp4_bytes)          # http://cdn.test/clip.mp4
await rig.freshchat.agent_reply(conversation_id, parts=[{"video": {"url": url}}])
```

`GET` answers the bytes with their `Content-Type` and `Content-Length`; `HEAD` the same headers
without the body; anything else is 405 and an unknown path 404. `requests` lists what was asked.
"""

from __future__ import annotations

import mimetypes
from urllib.parse import quote, unquote

import attrs

from ..asgi import Receive, Scope, Send, route_path, send_response

__all__ = ["MediaHost"]


@attrs.frozen(kw_only=True)
class _Stored:
    data: bytes
    content_type: str


class MediaHost:
    """An ASGI app serving the files `put` into it, at `base_url`."""

    def __init__(self, base_url: str = "http://cdn.test") -> None:
        self.base_url = base_url.rstrip("/")
        self.requests: list[tuple[str, str]] = []
        self._files: dict[str, _Stored] = {}

    def put(self, path: str, data: bytes, content_type: str | None = None) -> str:
        """Serve `data` at `path` (its type guessed from the name when not given); its URL."""
        path = "/" + path.lstrip("/")
        guessed = mimetypes.guess_type(path, strict=False)[0]
        self._files[path] = _Stored(
            data=data, content_type=content_type or guessed or "application/octet-stream"
        )
        return self.base_url + quote(path)

    def remove(self, path: str) -> None:
        """Stop serving `path`: it answers 404 from now on."""
        self._files.pop("/" + path.lstrip("/"), None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        method = scope["method"].upper()
        path = unquote(route_path(scope))
        self.requests.append((method, path))
        stored = self._files.get(path)
        if method not in ("GET", "HEAD"):
            await send_response(send, 405, b"", content_type="text/plain", headers={"allow": "GET"})
        elif stored is None:
            await send_response(send, 404, b"Not Found", content_type="text/plain")
        elif method == "GET":
            await send_response(send, 200, stored.data, content_type=stored.content_type)
        else:
            headers = [
                (b"content-type", stored.content_type.encode("latin-1")),
                (b"content-length", str(len(stored.data)).encode()),
            ]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
