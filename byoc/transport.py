"""The HTTP client byoc uses for its outbound calls (Freshchat, Viber, Kakao), and its transport.

httpx is the API everywhere; what moves the bytes underneath is a choice made here, once.

## Which transport, and why

`benchmarks/transport.py` measures the candidates in one run against a local server with 32
requests in flight; `docs/operations-transport.md` has the figures and how to run it again. On
every run, httpx over httpx-aiohttp's transport answered 1.3x to 6x the requests per second of
httpx's own transport (usually 2.5x or more), with a p99 latency 4x to 14x lower and a quarter
to a half of its CPU time per request. Tuning httpx's own pool the usual way (all 100
connections kept alive, for 30 s) made it slower still, with up to twice the CPU per request:
httpcore checks every pooled connection each time it hands one out, so each idle connection
kept costs every request. Its cost is in the pool, per request, not in opening connections.
Hence:

- **`lean`**, the default when the `fast` extra is installed and no proxy variable is set:
  byoc's own HTTP/1.1 pool (`byoc.lean_transport`). `Endpoint` hands it a call's bytes
  prepared once per path and gets the answer whole, so the bridge's own calls build no httpx
  models on the way out; every other request goes through it as through any httpx transport.
  It has no proxy support, hence:
- **`aiohttp`**, the default with the `fast` extra when a proxy variable is set: httpx-aiohttp's
  transport, with the corrections in `byoc.aiohttp_transport` (httpx's error classes, a write
  timeout, one cookie jar, proxies from the environment).
- **`httpx`**, the default without it: httpx's own transport with its own keep-alive settings
  (20 idle connections, for 5 s), the fastest of the pools measured; only `max_connections`
  is byoc's.

Override with the environment variable `BYOC_HTTP_TRANSPORT` (`lean`, `aiohttp` or `httpx`),
or with the `transport=` argument, which wins over the variable:

```python
client = default_http_client(base_url="https://api.freshchat.com/v2", headers=auth)
log.info("outbound HTTP over %s", transport_name(client))
```

## Around httpx: what each call costs

`benchmarks/side_by_side.py` found httpx's client layer costing more CPU per call than the
transport under it. Two things here keep it down without leaving httpx's API:

- The client made here consults its cookie jar only when an answer sets a cookie: httpx
  otherwise runs urllib's cookie machinery over every response, and the APIs byoc calls
  rarely set one.
- `Endpoint` builds what does not change between calls to one API once (base URL, headers
  merged with the client's, timeouts) and hands `client.send()` a ready `httpx.Request`, where
  `client.request()` would merge URL, headers, cookies and timeouts again on every call.
"""

from __future__ import annotations

import datetime
import os
import time
import weakref
from collections.abc import Mapping
from typing import Any, Final, Protocol

import httpx

from .errors import ConfigurationError
from .json_text import compact_json

__all__ = [
    "ENV_VAR",
    "TRANSPORTS",
    "Endpoint",
    "default_http_client",
    "encode_json",
    "transport_name",
]

ENV_VAR: Final = "BYOC_HTTP_TRANSPORT"
"""The environment variable that overrides the measured default."""

TRANSPORTS: Final = ("httpx", "aiohttp", "lean")
"""The transports `default_http_client` can put under httpx."""

# aiohttp keeps idle connections this long (its default is 15 s): long enough to spare a TLS
# handshake between an agent's replies, shorter than the 60 s idle timeout common in front of HTTP
# APIs, so a pooled connection is not reused just as the far side closes it. Idle connections
# cost aiohttp's pool nothing per request.
_AIOHTTP_KEEPALIVE_EXPIRY: Final = 30.0

# httpx's own pool checks every pooled connection each time it hands one out, so each idle
# connection kept costs every request: measured at 32 in flight, keeping all 100 alive (and for
# 30 s) made it slower, not faster. The fallback keeps httpx's own defaults (20, for 5 s).
_HTTPX_MAX_KEEPALIVE: Final = 20
_HTTPX_KEEPALIVE_EXPIRY: Final = 5.0

_names: weakref.WeakKeyDictionary[httpx.AsyncClient, str] = weakref.WeakKeyDictionary()


class _Exchanges(Protocol):
    """What `Endpoint` needs of `byoc.lean_transport.LeanTransport` (imported only if chosen)."""

    async def exchange(
        self,
        method: str,
        url: httpx.URL,
        head: bytes,
        body: bytes,
        timeouts: Mapping[str, float | None],
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]: ...


# The lean transport under each client made here on it: `Endpoint` hands it prepared bytes.
_lean: weakref.WeakKeyDictionary[httpx.AsyncClient, _Exchanges] = weakref.WeakKeyDictionary()

_PROXY_VARIABLES: Final = ("http_proxy", "https_proxy", "all_proxy")

_JSON: Final = "application/json"

# Paths whose `httpx.URL` an `Endpoint` keeps (parsing one costs tens of µs); past this many
# distinct paths (one per conversation, say) the cache starts again.
_URL_CACHE_SIZE: Final = 4096


class _CookieJar(httpx.Cookies):
    """httpx's cookies, read from an answer only when it sets one."""

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


class _Client(httpx.AsyncClient):
    """`httpx.AsyncClient` with a `_CookieJar`: cookies work as in httpx, for less CPU."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._jar = _CookieJar(super().cookies)

    @property
    def cookies(self) -> httpx.Cookies:
        return self._jar

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        self._jar = _CookieJar(cookies)


class Endpoint:
    """Calls to one HTTP API over a shared client, with what never changes built once.

    The base URL, the headers (the client's own, then `headers`) and the timeout are fixed at
    construction; each call builds only its `httpx.Request` and sends it with `client.send()`,
    so the client's auth, event hooks, redirect setting, transport and cookies all still apply.
    Headers set on the client after the endpoint was made are not picked up.

    ```python
    api = Endpoint(client, "https://acme.freshchat.com/v2", headers={"Authorization": auth})
    response = await api.send("POST", "/users", json={"reference_id": "viber:jc9H"})
    ```
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        merged = httpx.Headers(client.headers)
        merged.update(headers or {})
        self._headers = merged
        self._json_headers = httpx.Headers(merged)
        self._json_headers["Content-Type"] = _JSON
        limits = client.timeout if timeout is None else httpx.Timeout(timeout)
        self._timeouts = limits.as_dict()
        self._extensions = {"timeout": self._timeouts}
        self._urls: dict[str, httpx.URL] = {}
        self._lean = _lean.get(client)
        self._heads: dict[tuple[str, str, bool], bytes] = {}

    def url(self, path: str) -> httpx.URL:
        """`base_url` + `path` as an `httpx.URL` (kept: the same paths come back)."""
        url = self._urls.get(path)
        if url is None:
            if len(self._urls) >= _URL_CACHE_SIZE:
                self._urls.clear()
            url = self._urls[path] = httpx.URL(self.base_url + path)
        return url

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        content: bytes | None = None,
    ) -> httpx.Request:
        """The request for `path`; `json` is encoded as httpx would (compact UTF-8)."""
        headers = self._headers
        if json is not None:
            content = encode_json(json)
            headers = self._json_headers
        # Once a cookie was set, let the client add it, as client.request() does.
        build = self.client.build_request if self.client.cookies else httpx.Request
        return build(
            method,
            self.url(path),
            params=params,
            content=content,
            headers=headers,
            extensions=self._extensions,
        )

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        """Send the request for `path` and read the whole answer."""
        if self._lean is not None and params is None and self._plain_client():
            if json is not None:
                content = encode_json(json)
            return await self._send_lean(self._lean, method, path, content, json is not None)
        request = self.request(method, path, params=params, json=json, content=content)
        return await self.client.send(request)

    def _plain_client(self) -> bool:
        # What `client.send()` would add: none of it is set on the clients made here, unless a
        # caller set it after; then the call goes through `client.send()` as any other.
        client = self.client
        hooks = client.event_hooks
        return (
            not client.is_closed  # a closed client says so, as `client.send()` does
            and client.auth is None
            and not client.cookies
            and not client.follow_redirects
            and not hooks["request"]
            and not hooks["response"]
        )

    async def _send_lean(
        self, lean: _Exchanges, method: str, path: str, content: bytes | None, is_json: bool
    ) -> httpx.Response:
        """The call as `client.send()` would make it, without building httpx's models on the
        way out: the lean transport takes the request's bytes, prepared once per path."""
        url = self.url(path)
        key = (method, path, is_json)
        prefix = self._heads.get(key)
        if prefix is None:
            if len(self._heads) >= _URL_CACHE_SIZE:
                self._heads.clear()
            prefix = self._heads[key] = _head_prefix(
                method, url, self._json_headers if is_json else self._headers
            )
        body = content or b""
        if body or method in _BODY_METHODS:
            head = b"%sContent-Length: %d\r\n\r\n" % (prefix, len(body))
        else:
            head = prefix + b"\r\n"
        started = time.perf_counter()
        status, raw, answer = await lean.exchange(method, url, head, body, self._timeouts)
        request = httpx.Request(
            method,
            url,
            headers=self._json_headers if is_json else self._headers,
            stream=httpx.ByteStream(body),
            extensions=self._extensions,
        )
        response = httpx.Response(
            status,
            headers=raw,
            stream=httpx.ByteStream(answer),
            request=request,
            extensions={"http_version": b"HTTP/1.1"},
        )
        if "content-encoding" in response.headers:
            await response.aread()  # httpx's decoders
        else:
            # The body is already whole: `aread()` would only copy it through httpx's stream
            # machinery (about 30 µs). tests/core/test_lean_transport.py pins what this relies on.
            response._content = answer
            response.is_stream_consumed = True
            response.is_closed = True
        response.elapsed = datetime.timedelta(seconds=time.perf_counter() - started)
        if "set-cookie" in response.headers:
            self.client.cookies.extract_cookies(response)
        return response


_BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH"})


def _head_prefix(method: str, url: httpx.URL, headers: httpx.Headers) -> bytes:
    """The request line, `Host` and `headers`, as httpx would write them; not yet ended."""
    lines = [b"%s %s HTTP/1.1\r\nHost: %s\r\n" % (method.encode("ascii"), url.raw_path, url.netloc)]
    for name, value in headers.raw:
        if b"\r" in value or b"\n" in value or b"\r" in name or b"\n" in name:
            # A token pasted with its line break would otherwise start a header of its own.
            raise httpx.LocalProtocolError(f"illegal header {name!r}: it holds a line break")
        lines.append(b"%s: %s\r\n" % (name, value))
    return b"".join(lines)


def encode_json(value: Any) -> bytes:
    """`value` as the body httpx's `json=` sends: compact UTF-8 JSON (NaN refused)."""
    return compact_json(value).encode()


def default_http_client(
    *,
    base_url: str = "",
    headers: Mapping[str, str] | None = None,
    timeout: float = 15.0,
    max_connections: int = 100,
    transport: str | None = None,
) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` over the fastest correct transport that is installed.

    `timeout` bounds connecting, each read, each write and the wait for a pooled connection;
    `max_connections` caps the connections open at once (and so the requests in flight; more
    wait for a free one). `transport` names
    the transport (see `TRANSPORTS`); when `None`, `BYOC_HTTP_TRANSPORT` decides, and when
    that is unset too, the measured default does.

    Raises `ConfigurationError` for an unknown transport name, or for `aiohttp` when the
    `fast` extra is not installed.
    """
    name = _chosen(transport)
    client: httpx.AsyncClient
    if name == "lean":
        from .lean_transport import LeanTransport

        lean = LeanTransport(
            limits=httpx.Limits(
                max_connections=max_connections, keepalive_expiry=_AIOHTTP_KEEPALIVE_EXPIRY
            )
        )
        client = _Client(base_url=base_url, headers=headers, timeout=timeout, transport=lean)
        _lean[client] = lean
    elif name == "aiohttp":
        from .aiohttp_transport import ByocAiohttpTransport

        limits = httpx.Limits(
            max_connections=max_connections, keepalive_expiry=_AIOHTTP_KEEPALIVE_EXPIRY
        )
        client = _Client(
            base_url=base_url,
            headers=headers,
            timeout=timeout,
            transport=ByocAiohttpTransport(limits=limits),
        )
    else:
        limits = httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=min(_HTTPX_MAX_KEEPALIVE, max_connections),
            keepalive_expiry=_HTTPX_KEEPALIVE_EXPIRY,
        )
        # No `transport=` here on purpose: httpx then builds its own transport from `limits`
        # *and* honours HTTP(S)_PROXY / NO_PROXY, which it skips for a transport passed in.
        client = _Client(base_url=base_url, headers=headers, timeout=timeout, limits=limits)
    _names[client] = name
    return client


def transport_name(client: httpx.AsyncClient) -> str:
    """Which transport `client` uses: a name from `TRANSPORTS`, or `"custom"`.

    `"custom"` means the client was not made by `default_http_client` (say, one a test
    injected with an `httpx.MockTransport`).
    """
    return _names.get(client, "custom")


def _chosen(explicit: str | None) -> str:
    requested = explicit if explicit is not None else os.environ.get(ENV_VAR, "")
    requested = requested.strip().lower()
    source = "transport=" if explicit is not None else f"{ENV_VAR}="
    if requested == "":
        if _lean_installed() and not _proxy_in_environment():
            return "lean"
        return "aiohttp" if _aiohttp_installed() else "httpx"
    if requested not in TRANSPORTS:
        raise ConfigurationError(
            f"{source}{requested!r} is not a known HTTP transport; use one of: "
            + ", ".join(TRANSPORTS)
        )
    if requested == "lean":
        if not _lean_installed():
            raise ConfigurationError(
                f"{source}lean needs the `fast` extra: pip install 'byoc[fast]' "
                f"(or set {ENV_VAR}=httpx)"
            )
        if _proxy_in_environment():
            raise ConfigurationError(
                f"{source}lean does not go through proxies, and a proxy variable is set "
                f"(HTTP_PROXY, HTTPS_PROXY or ALL_PROXY): set {ENV_VAR}=aiohttp or httpx"
            )
    if requested == "aiohttp" and not _aiohttp_installed():
        raise ConfigurationError(
            f"{source}aiohttp needs the `fast` extra: pip install 'byoc[fast]' "
            f"(or set {ENV_VAR}=httpx)"
        )
    return requested


def _proxy_in_environment() -> bool:
    return any(os.environ.get(name) or os.environ.get(name.upper()) for name in _PROXY_VARIABLES)


def _lean_installed() -> bool:
    try:
        import httptools  # noqa: F401
    except ImportError:
        return False
    return True


def _aiohttp_installed() -> bool:
    try:
        import aiohttp  # noqa: F401
        import httpx_aiohttp  # noqa: F401
    except ImportError:
        return False
    return True
