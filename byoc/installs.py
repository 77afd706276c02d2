"""Install state: each channel's webhook registration, kept in the store by one owner.

`Installs` registers a channel's target URL (`Channel.install`) and records what happened, for
the admin page and `byoc install`; `uninstall` undoes both. The bridge holds one (`Bridge.installs`)
and the CLI builds one from the settings without a whole bridge, so there is one writer and one
reader of these records.

```python
installs = Installs(channels, store, public_url="https://byoc.example.com")
results = await installs.install(["viber"])
recorded, at = await installs.recorded("viber")
```
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping

from .channel import Channel, InstallResult
from .clock import Clock, SystemClock
from .errors import ConfigurationError
from .hops import kv
from .store import Store

__all__ = ["Installs"]

log = logging.getLogger("byoc.installs")


def _target_url_key(name: str) -> str:
    return f"target_url:{name}"


def _install_key(name: str) -> str:
    return f"install:{name}"


class Installs:
    """The channels' webhook registrations and their record in the store."""

    def __init__(
        self,
        channels: Mapping[str, Channel],
        store: Store,
        *,
        public_url: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.channels = channels
        self.store = store
        self.public_url = public_url.rstrip("/") if public_url else None
        self.clock = clock or SystemClock()

    def target_url(self, name: str, public_url: str | None = None) -> str:
        """The URL a channel must call: `<public URL>/channels/<name>/webhook`."""
        base = (public_url or self.public_url or "").rstrip("/")
        if not base:
            raise ConfigurationError(
                "the bridge's public URL is not set; set BYOC_PUBLIC_URL (or pass public_url=) "
                "to the HTTPS address where this bridge is reachable, e.g. https://byoc.example.com"
            )
        return f"{base}/channels/{name}/webhook"

    def messaging_webhook_url(self, public_url: str | None = None) -> str:
        """The URL to paste into the help desk's webhook settings."""
        return self.target_url("_", public_url).replace("/channels/_/webhook", "/messaging/webhook")

    def _channel(self, name: str) -> Channel:
        channel = self.channels.get(name)
        if channel is None:
            raise ConfigurationError(f"no channel named {name!r} is enabled")
        return channel

    async def install(
        self, names: Iterable[str] | None = None, *, public_url: str | None = None
    ) -> dict[str, InstallResult]:
        """Register each channel's webhook (or record the URL to paste by hand).

        Channels such as Viber call the URL back while registering it, so the bridge must
        already be serving it when this runs.
        """
        results: dict[str, InstallResult] = {}
        for name in names if names is not None else list(self.channels):
            result = await self._channel(name).install(self.target_url(name, public_url))
            await self.store.set_setting(_target_url_key(name), result.target_url)
            record = {
                "target_url": result.target_url,
                "registered": result.registered,
                "instructions": result.instructions,
                "at": self.clock.time(),
            }
            await self.store.set_setting(_install_key(name), json.dumps(record))
            log.info(
                kv(
                    hop="install",
                    channel=name,
                    registered="yes" if result.registered else "paste by hand",
                )
            )
            results[name] = result
        return results

    async def uninstall(self, names: Iterable[str] | None = None) -> None:
        """Unregister each channel's webhook and forget what `install()` recorded."""
        for name in names if names is not None else list(self.channels):
            await self._channel(name).uninstall()
            await self.store.delete_setting(_target_url_key(name))
            await self.store.delete_setting(_install_key(name))
            log.info(kv(hop="uninstall", channel=name))

    async def installed_url(self, name: str) -> str | None:
        """The target URL recorded by the last `install()` of a channel."""
        return await self.store.get_setting(_target_url_key(name)) or None

    async def recorded(self, name: str) -> tuple[InstallResult, float | None] | None:
        """What the last `install()` of a channel recorded, and when (None: not installed)."""
        raw = await self.store.get_setting(_install_key(name))
        if raw:
            try:
                record = json.loads(raw)
                result = InstallResult(
                    target_url=str(record["target_url"]),
                    registered=bool(record["registered"]),
                    instructions=str(record.get("instructions", "")),
                )
                at = record.get("at")
                return result, float(at) if isinstance(at, (int, float)) else None
            except (ValueError, KeyError, TypeError):
                log.warning("the install record of %s is unreadable; ignoring it", name)
        url = await self.installed_url(name)
        if url:
            # Recorded by an older version, which kept only the URL.
            return InstallResult(target_url=url, registered=False), None
        return None
