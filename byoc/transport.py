"""The HTTP client byoc uses for its outbound calls (Freshchat, Viber, Kakao), and its transport.

httpx is the API everywhere; what moves the bytes underneath is a choice made here, once.

## Which transport, and why

`benchmarks/transport.py` measures the candidates in one run against a local server with 32
requests in flight (figures, and how to run it again: `docs/operations-transport.md`). httpx
over httpx-aiohttp's transport answered about 4x (uvicorn server) to 7x (minimal server) the
requests per second of httpx's own transport, with a p99 latency some 10x lower. Tuning httpx's
own pool (every connection kept alive, a longer keep-alive) did not close the gap, nor even
help: its cost is per request inside httpcore's pool (setting up its lock and events, checking
every pooled connection on each hand-out), not in opening connections. Hence:

- **`aiohttp`** (the default when the `fast` extra is installed): httpx-aiohttp's transport, with
  the corrections in `byoc.aiohttp_transport` (httpx's error classes, a write timeout, one
  cookie jar, proxies from the environment).
- **`httpx`** (the default without it): httpx's own transport, keeping every connection up to
  `max_connections` alive rather than 20, so a burst does not close and reopen connections.

Override with the environment variable `BYOC_HTTP_TRANSPORT` (`httpx` or `aiohttp`), or with the
`transport=` argument, which wins over the variable:

```python
client = default_http_client(base_url="https://api.freshchat.com/v2", headers=auth)
log.info("outbound HTTP over %s", transport_name(client))
```
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Mapping
from typing import Final

import httpx

from .errors import ConfigurationError

__all__ = [
    "ENV_VAR",
    "TRANSPORTS",
    "default_http_client",
    "transport_name",
]

ENV_VAR: Final = "BYOC_HTTP_TRANSPORT"
"""The environment variable that overrides the measured default."""

TRANSPORTS: Final = ("httpx", "aiohttp")
"""The transports `default_http_client` can put under httpx."""

# Idle connections are kept this long: long enough to spare a TLS handshake between messages of a
# conversation, and shorter than the 60 s idle timeout common in front of HTTP APIs, so that a
# pooled connection is not reused just as the far side closes it.
KEEPALIVE_EXPIRY: Final = 30.0

_names: weakref.WeakKeyDictionary[httpx.AsyncClient, str] = weakref.WeakKeyDictionary()


def default_http_client(
    *,
    base_url: str = "",
    headers: Mapping[str, str] | None = None,
    timeout: float = 15.0,
    max_connections: int = 100,
    transport: str | None = None,
) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` over the fastest correct transport that is installed.

    `timeout` bounds connecting, each read, each write and the wait for a pooled connection.
    Every idle connection up to `max_connections` is kept alive for reuse. `transport` names
    the transport (see `TRANSPORTS`); when `None`, `BYOC_HTTP_TRANSPORT` decides, and when
    that is unset too, the measured default does.

    Raises `ConfigurationError` for an unknown transport name, or for `aiohttp` when the
    `fast` extra is not installed.
    """
    name = _chosen(transport)
    limits = httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=KEEPALIVE_EXPIRY,
    )
    client: httpx.AsyncClient
    if name == "aiohttp":
        from .aiohttp_transport import ByocAiohttpTransport

        client = httpx.AsyncClient(
            base_url=base_url,
            headers=headers,
            timeout=timeout,
            transport=ByocAiohttpTransport(limits=limits),
        )
    else:
        # No `transport=` here on purpose: httpx then builds its own transport from `limits`
        # *and* honours HTTP(S)_PROXY / NO_PROXY, which it skips for a transport passed in.
        client = httpx.AsyncClient(
            base_url=base_url, headers=headers, timeout=timeout, limits=limits
        )
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
        return "aiohttp" if _aiohttp_installed() else "httpx"
    if requested not in TRANSPORTS:
        raise ConfigurationError(
            f"{source}{requested!r} is not a known HTTP transport; use one of: "
            + ", ".join(TRANSPORTS)
        )
    if requested == "aiohttp" and not _aiohttp_installed():
        raise ConfigurationError(
            f"{source}aiohttp needs the `fast` extra: pip install 'byoc[fast]' "
            f"(or set {ENV_VAR}=httpx)"
        )
    return requested


def _aiohttp_installed() -> bool:
    try:
        import aiohttp  # noqa: F401
        import httpx_aiohttp  # noqa: F401
    except ImportError:
        return False
    return True
