"""From `Settings` to a bridge: the one way settings become a `Bridge`.

```python
bridge = build_bridge(load_settings())   # the help desk, the configured channels, the store
```

The help desk is Freshchat unless `BYOC_MESSAGING=chatwoot`. `byoc serve` runs this bridge, or
the demo when no help desk's credential is set (`byoc.cli.service`).
"""

from __future__ import annotations

from .bridge import Bridge
from .channel import Channel
from .errors import ConfigurationError
from .messaging import Messaging
from .redaction import remember_secrets
from .settings import DEFAULT_POOL_SIZE, HELPDESKS, Settings, is_postgres_url, load_settings
from .store import Store
from .store.queue import DEFAULT_DEAD_LETTER_RETENTION
from .sync import Notices

__all__ = ["build_bridge", "build_channels", "build_messaging", "open_store"]


def build_channels(settings: Settings) -> list[Channel]:
    """The channels the settings enable; a `ConfigurationError` saying why when there is none."""
    choice = settings.choose_channels()
    if not choice.enabled:
        reasons = {**choice.skipped, **choice.broken}
        why = "; ".join(f"{name}: {reason}" for name, reason in sorted(reasons.items()))
        raise ConfigurationError(
            "no channel is configured, so the bridge would have nothing to bridge. Set a "
            "channel's settings (e.g. BYOC_VIBER_AUTH_TOKEN and BYOC_VIBER_SENDER_NAME; "
            f"`byoc channels` lists the installed ones). {why}"
        )
    return list(choice.enabled)


def build_messaging(settings: Settings) -> Messaging:
    """The help desk `BYOC_MESSAGING` names, from its settings; a `ConfigurationError` naming
    the setting to fix (also when only the other help desk's settings are there)."""
    chosen = settings.messaging
    if not any(settings.values.get(name, "").strip() for name in HELPDESKS[chosen]):
        others = [
            desk
            for desk, names in HELPDESKS.items()
            if desk != chosen and any(settings.values.get(n, "").strip() for n in names)
        ]
        if others:
            raise ConfigurationError(
                f"BYOC_MESSAGING is {chosen}{' (the default)' if chosen == 'freshchat' else ''}, "
                f"but only {others[0]} settings are set ({', '.join(HELPDESKS[others[0]])}): "
                f"set BYOC_MESSAGING={others[0]} to use {others[0]}"
            )
    if chosen == "chatwoot":
        from .chatwoot import ChatwootMessaging

        return ChatwootMessaging.from_env(settings.values)
    from .freshchat import FreshchatMessaging

    return FreshchatMessaging.from_env(settings.values)


def build_bridge(settings: Settings | None = None, *, exclusive: bool = True) -> Bridge:
    """The bridge the settings describe: the help desk, the enabled channels, the store.

    The one way settings become a bridge: `byoc serve`, the CLI and the framework examples all
    call it. Without `settings`, they are read from the environment and `BYOC_CONFIG`.

    ```python
    from byoc import build_bridge

    bridge = build_bridge()          # BYOC_* settings; mount it in any ASGI framework
    ```

    `exclusive=False` opens a SQLite store beside a running bridge (for commands that only
    read it or record install data): see `open_store`.
    """
    if settings is None:
        settings = load_settings()
    # The admin page shows what came from upstream through `displayable`: with these blanked.
    remember_secrets(settings.values)

    channels = build_channels(settings)
    messaging = build_messaging(settings)
    notices = {}
    for channel in channels:
        assigned, resolved = settings.notice_texts(channel.name)
        if assigned or resolved:
            notices[channel.name] = Notices(assigned=assigned, resolved=resolved)
    return Bridge(
        messaging=messaging,
        channels=channels,
        notices=notices,
        store=open_store(
            settings.store_url.reveal(),
            exclusive=exclusive,
            dead_letter_retention=settings.dead_letter_retention,
            pool_size=settings.store_pool_size,
        ),
        public_url=settings.public_url,
        delivery=settings.delivery,
        concurrency=settings.concurrency,
        lease=settings.lease,
        admin_token=settings.admin_token.reveal() if settings.admin_token else None,
        metrics_token=settings.metrics_token.reveal() if settings.metrics_token else None,
        shutdown_grace=settings.shutdown_grace,
    )


def open_store(
    location: str,
    *,
    exclusive: bool = True,
    dead_letter_retention: float = DEFAULT_DEAD_LETTER_RETENTION,
    pool_size: int = DEFAULT_POOL_SIZE,
    migrate: bool = True,
) -> Store:
    """The store at `location`: a PostgreSQL URL, or a SQLite file path.

    A SQLite file serves one bridge process, which holds it exclusively; `exclusive=False`
    opens it beside a running bridge, for tools that only read it or record install data.
    PostgreSQL is shared by every replica, so `exclusive` does not apply to it; `migrate=False`
    leaves its schema alone (a SQLite file is always brought up to date). Raises a
    `ConfigurationError` naming `BYOC_STORE` if it cannot open.
    """
    if is_postgres_url(location):
        try:
            from .store.postgres import PostgresStore
        except ImportError as exc:
            raise ConfigurationError(
                f"BYOC_STORE names a PostgreSQL database, which needs the postgres extra: "
                f"pip install 'byoc[postgres]' ({exc})"
            ) from None
        return PostgresStore(
            location,
            pool_size=pool_size,
            dead_letter_retention=dead_letter_retention,
            migrate=migrate,
        )
    from .store.sqlite import SQLiteStore

    try:
        return SQLiteStore(
            location, exclusive=exclusive, dead_letter_retention=dead_letter_retention
        )
    except ConfigurationError:
        raise
    except Exception as exc:
        raise ConfigurationError(
            f"cannot open the store {location} ({type(exc).__name__}: {exc}); check BYOC_STORE "
            "and that its directory exists and is writable"
        ) from exc
