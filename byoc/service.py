"""From `Settings` to what `byoc serve` runs: the configured bridge, or the demo.

```python
settings = load_settings()
service = build_service(settings)     # settings.demo → DemoWorld, else a Bridge on its store
# service.app is the ASGI app to serve; service.bridge the bridge inside it
```
"""

from __future__ import annotations

import secrets

import attrs

from .asgi import ASGIApp
from .bridge import Bridge
from .errors import ConfigurationError
from .settings import DEFAULT_POOL_SIZE, Settings, is_postgres_url
from .store import Store
from .store.queue import DEFAULT_DEAD_LETTER_RETENTION

__all__ = ["Service", "build_bridge", "build_service", "open_store"]


@attrs.frozen(kw_only=True)
class Service:
    """What one `byoc serve` process runs.

    `admin_token_generated` is set in the demo when no `BYOC_ADMIN_TOKEN` was given: a token
    made for this run, printed so the newcomer can open the admin page.
    """

    app: ASGIApp
    bridge: Bridge
    demo: bool
    hints: tuple[str, ...] = ()
    admin_token_generated: str | None = None


def build_bridge(settings: Settings, *, exclusive: bool = True) -> Bridge:
    """The bridge the settings describe: Freshchat, the enabled channels, the store.

    `exclusive=False` opens a SQLite store beside a running bridge (for commands such as
    `byoc install` that only record install data): see `open_store`.
    """
    from .freshchat import FreshchatMessaging

    choice = settings.choose_channels()
    if not choice.enabled:
        why = "; ".join(f"{name}: {reason}" for name, reason in sorted(choice.skipped.items()))
        raise ConfigurationError(
            "no channel is configured, so the bridge would have nothing to bridge. Set a "
            "channel's settings (e.g. BYOC_VIBER_AUTH_TOKEN and BYOC_VIBER_SENDER_NAME; "
            f"`byoc channels` lists the installed ones). {why}"
        )
    messaging = FreshchatMessaging.from_env(settings.values)
    bridge = Bridge(
        messaging=messaging,
        channels=list(choice.enabled),
        store=open_store(
            settings.store_url.reveal(),
            exclusive=exclusive,
            dead_letter_retention=settings.dead_letter_retention,
            pool_size=settings.store_pool_size,
        ),
        public_url=settings.public_url,
        delivery=settings.delivery,
        concurrency=settings.concurrency,
        admin_token=settings.admin_token.reveal() if settings.admin_token else None,
        shutdown_grace=settings.shutdown_grace,
    )
    bridge.dispatcher.lease = settings.lease
    return bridge


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


def build_service(settings: Settings) -> Service:
    """The demo when no Freshchat credential is set, else the configured bridge."""
    if not settings.demo:
        bridge = build_bridge(settings)
        return Service(app=bridge, bridge=bridge, demo=False)
    from .demo import DemoWorld, choose_kits

    generated = None
    token = settings.admin_token.reveal() if settings.admin_token else None
    if token is None:
        token = generated = secrets.token_urlsafe(18)
    kits = choose_kits(settings.channel_names, every=True)
    world = DemoWorld(kits, admin_token=token, delivery=settings.delivery)
    world.bridge.shutdown_grace = settings.shutdown_grace
    return Service(
        app=world,
        bridge=world.bridge,
        demo=True,
        hints=tuple(world.control_hints("{base}")),
        admin_token_generated=generated,
    )
