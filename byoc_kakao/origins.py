"""Which hosts a URL from Kakao may point at.

A skill request carries URLs the bridge acts on: the AI-chatbot `callbackUrl` it will POST an
agent's reply to, and CDN links to photos it will download. Only URLs on Kakao's own hosts are
trusted, so a forged request cannot make the bridge send agent replies elsewhere. Patterns read
`scheme://host`, with `*.` matching any subdomain and an optional `:port`:

```python
patterns = parse_origins("https://*.kakao.com, http://127.0.0.1:8082")
assert origin_allowed("https://bot-api.kakao.com/callback/x", patterns)
```
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

import attrs

__all__ = ["OriginPattern", "origin_allowed", "parse_origins"]


@attrs.frozen(kw_only=True)
class OriginPattern:
    """One allowed origin: `scheme`, `host` (or a `*.` suffix) and an optional `port`."""

    scheme: str
    host: str
    wildcard: bool = False
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> OriginPattern:
        parts = urlsplit(text.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"not an origin pattern (scheme://host[:port]): {text!r}")
        netloc = parts.netloc.lower()
        host, _, port = netloc.rpartition(":") if ":" in netloc else (netloc, "", "")
        wildcard = host.startswith("*.")
        if wildcard:
            host = host[2:]
        return cls(
            scheme=parts.scheme,
            host=host,
            wildcard=wildcard,
            port=int(port) if port else None,
        )

    def matches(self, url: str) -> bool:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return False
        host = (parts.hostname or "").lower()
        if parts.scheme != self.scheme or not host:
            return False
        if self.port is not None and port != self.port:
            return False
        if self.wildcard:
            return host == self.host or host.endswith("." + self.host)
        return host == self.host


def parse_origins(value: str | Iterable[str]) -> tuple[OriginPattern, ...]:
    """Patterns from a comma-separated string or an iterable of strings."""
    items = value.split(",") if isinstance(value, str) else value
    return tuple(OriginPattern.parse(item) for item in items if item.strip())


def origin_allowed(url: str, patterns: Iterable[OriginPattern]) -> bool:
    """Whether `url` is on one of the allowed origins."""
    return any(p.matches(url) for p in patterns)
