"""Settings of the bundled server: environment variables, optionally a TOML file.

Every setting has one name, an environment variable (`BYOC_PUBLIC_URL`, `BYOC_VIBER_AUTH_TOKEN`).
A TOML file (`byoc serve --config byoc.toml`, or `BYOC_CONFIG`) spells the same names shorter:

```toml
public_url = "https://byoc.example.com"    # top-level key  k      → BYOC_<K>
channels = ["viber"]                       # a list becomes "viber" (comma-separated)
messaging = "freshchat"                    # the help desk: freshchat (default) or chatwoot

[freshchat]                                # table [t], key k     → BYOC_<T>_<K>
api_url = "https://acme.freshchat.com/v2"
api_token = "..."

[viber]
auth_token = "..."                         # → BYOC_VIBER_AUTH_TOKEN
sender_name = "Acme Support"
```

Names are upper-cased and `-` becomes `_` (`[kakao-chatbot]` → `BYOC_KAKAO_CHATBOT_...`).
An environment variable wins over the file. Channels read their own settings in their
`from_env` (`BYOC_VIBER_*`, `BYOC_KAKAO_*`); the core ones are listed in `CORE_SETTINGS`
and documented in docs/configuration.md. A bad value raises `ConfigurationError` naming the
variable and the fix; credentials never appear in its message (see `byoc.redaction`).
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import attrs

from .channel import INSTANCE_NAME, Channel, settings_prefix_of
from .errors import ConfigurationError, PluginError
from .plugins import CHANNELS_GROUP, installed, load_channel_class
from .redaction import MASK, Redactor, Secret

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = [
    "CORE_SETTINGS",
    "DEFAULT_STORE",
    "HELPDESKS",
    "ChannelChoice",
    "Settings",
    "instance_settings",
    "is_postgres_url",
    "load_settings",
    "read_config_file",
    "store_path",
]

log = logging.getLogger("byoc.settings")

DEFAULT_STORE = "byoc.sqlite3"
DEFAULT_GRACE = 10.0
DEFAULT_CONCURRENCY = 256
DEFAULT_LEASE = 15.0
DEFAULT_RETENTION_DAYS = 30.0
DEFAULT_POOL_SIZE = 10
DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_BODY_TIMEOUT = 30.0
MAX_CONNECTIONS = 1_000_000
_POSTGRES_SCHEMES = ("postgresql://", "postgres://")
MIN_ADMIN_TOKEN = 16

CORE_SETTINGS: Mapping[str, str] = {
    "BYOC_CONFIG": "a TOML file with more settings (the environment wins over it)",
    "BYOC_PUBLIC_URL": "the HTTPS address where the bridge is reachable from the internet",
    "BYOC_STORE": "where state is kept: a SQLite file path (default byoc.sqlite3), "
    "sqlite:///path, or postgresql://user@host/db for several replicas",
    "BYOC_STORE_POOL_SIZE": "PostgreSQL connections per process (default 10)",
    "BYOC_CONCURRENCY": "deliveries in flight per process (default 256)",
    "BYOC_LEASE": "seconds a dead replica's deliveries wait before another takes them (default 15)",
    "BYOC_DEAD_LETTER_RETENTION_DAYS": "days dead letters are kept before they are purged (30)",
    "BYOC_CHANNELS": "comma-separated channels to enable (default: every configured one); a "
    "second account of a kind is an instance with its own name and BYOC_<NAME>_KIND",
    "BYOC_DELIVERY": "durable (default: stored, then delivered with retries) or inline",
    "BYOC_ADMIN_TOKEN": "turns the /admin page on; at least 16 random characters",
    "BYOC_METRICS_TOKEN": "bearer token for /metrics (default: the admin token; none set: open)",
    "BYOC_SHUTDOWN_GRACE": "seconds deliveries in flight get to finish at shutdown (default 10)",
    "BYOC_HEADER_TIMEOUT": "seconds `byoc serve` waits for a request's head (default 10)",
    "BYOC_BODY_TIMEOUT": "seconds `byoc serve` waits between two chunks of a body (default 30)",
    "BYOC_MAX_CONNECTIONS": "connections `byoc serve` keeps open at once (default: the file "
    "limit less a reserve for the store, upstream calls and logs)",
    "BYOC_MESSAGING": "the help desk: freshchat (default) or chatwoot",
    "BYOC_FRESHCHAT_API_URL": "your Freshchat API URL, e.g. https://acme.freshchat.com/v2",
    "BYOC_FRESHCHAT_API_TOKEN": "a Freshchat API token (Admin > API Tokens)",
    "BYOC_FRESHCHAT_CHANNEL_ID": "the Freshchat topic new conversations go to (default: first)",
    "BYOC_FRESHCHAT_WEBHOOK_PUBLIC_KEY": "the RSA public key of Freshchat's Conversation Webhooks",
    "BYOC_FRESHCHAT_VERIFY_SIGNATURES": "false accepts unsigned Freshchat webhooks (unsafe)",
    "BYOC_FRESHCHAT_APP_ID": "the Freshchat app id sent with new conversations (optional)",
    "BYOC_FRESHCHAT_ASSIGNED_GROUP_ID": "the group new conversations are assigned to (optional)",
    "BYOC_CHATWOOT_URL": "your Chatwoot's base URL, e.g. https://app.chatwoot.com (no /api/v1)",
    "BYOC_CHATWOOT_ACCOUNT_ID": "the Chatwoot account's id (the number after /accounts/)",
    "BYOC_CHATWOOT_INBOX_ID": "the id of the Chatwoot API inbox the bridge posts into",
    "BYOC_CHATWOOT_API_TOKEN": "a Chatwoot access token (Profile settings > Access Token)",
    "BYOC_CHATWOOT_HMAC_TOKEN": "the API inbox's webhook secret, which signs its webhooks",
    "BYOC_CHATWOOT_VERIFY_SIGNATURES": "false accepts unsigned Chatwoot webhooks (unsafe)",
    "BYOC_FRESHCHAT_MAX_WEBHOOK_AGE": "seconds after which a Freshchat webhook is a replay "
    "(default 86400; 0 turns the check off)",
    "BYOC_FRESHCHAT_WEBHOOK_CLOCK_SKEW": "seconds a Freshchat webhook may be dated ahead of the "
    "bridge's clock (default 300)",
}

# The TOML keys that map to core settings; channel tables are the channels' business.
_TOP_LEVEL_KEYS = frozenset(
    {
        "public_url",
        "store",
        "store_pool_size",
        "channels",
        "delivery",
        "concurrency",
        "lease",
        "dead_letter_retention_days",
        "admin_token",
        "metrics_token",
        "shutdown_grace",
        "messaging",
        "header_timeout",
        "body_timeout",
        "max_connections",
    }
)

Delivery = Literal["durable", "inline"]
Helpdesk = Literal["freshchat", "chatwoot"]

HELPDESKS: Mapping[Helpdesk, tuple[str, ...]] = {
    "freshchat": ("BYOC_FRESHCHAT_API_URL", "BYOC_FRESHCHAT_API_TOKEN"),
    "chatwoot": ("BYOC_CHATWOOT_URL", "BYOC_CHATWOOT_API_TOKEN"),
}
"""Each help desk `BYOC_MESSAGING` can name, and its credentials: with none of any set, the
bundled server runs the demo."""

# The TOML tables of the help desks: their keys are checked, a typo is not silently ignored.
_HELPDESK_KEYS: dict[str, frozenset[str]] = {
    desk: frozenset(
        name.removeprefix(f"BYOC_{desk.upper()}_").lower()
        for name in CORE_SETTINGS
        if name.startswith(f"BYOC_{desk.upper()}_")
    )
    for desk in HELPDESKS
}

_KIND_SETTING = re.compile(r"BYOC_([A-Z][A-Z0-9_]*)_KIND")


def _setting_name(*parts: str) -> str:
    return "BYOC_" + "_".join(p.upper().replace("-", "_") for p in parts)


def _toml_value(where: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ",".join(value)
    raise ConfigurationError(
        f"{where}: expected a string, number, boolean or list of strings, "
        f"got {type(value).__name__}"
    )


def read_config_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """The settings a TOML file holds, by environment-variable name."""
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(
            f"the config file {file} does not exist; check --config / BYOC_CONFIG"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read the config file {file}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{file} is not valid TOML: {exc}") from None
    found: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            known = _HELPDESK_KEYS.get(key)
            if known is not None:
                unknown = sorted(set(value) - known)
                if unknown:
                    raise ConfigurationError(
                        f"{file}: unknown key(s) {', '.join(unknown)} in [{key}]; "
                        f"known: {', '.join(sorted(known))}"
                    )
            for inner, item in value.items():
                if isinstance(item, dict):
                    raise ConfigurationError(
                        f"{file}: [{key}.{inner}] is nested too deep; settings are one table "
                        "deep ([viber] auth_token = ... is BYOC_VIBER_AUTH_TOKEN)"
                    )
                found[_setting_name(key, inner)] = _toml_value(f"{file}: {key}.{inner}", item)
            continue
        if key not in _TOP_LEVEL_KEYS:
            raise ConfigurationError(
                f"{file}: unknown top-level key {key!r}; known: "
                f"{', '.join(sorted(_TOP_LEVEL_KEYS))} (channel settings go in their table, "
                "e.g. [viber])"
            )
        found[_setting_name(key)] = _toml_value(f"{file}: {key}", value)
    return found


def is_postgres_url(location: str) -> bool:
    """Whether a store location names a PostgreSQL database."""
    return location.startswith(_POSTGRES_SCHEMES)


def store_path(value: str | None) -> str:
    """The store a `BYOC_STORE` value names: a SQLite file (`path`, `sqlite:///path`), or a
    PostgreSQL URL (`postgresql://...`, `postgres://...`), returned as it is."""
    where = (value or "").strip() or DEFAULT_STORE
    if is_postgres_url(where):
        parts = urlsplit(where)
        if not parts.path.strip("/") and not parts.hostname:
            raise ConfigurationError(
                "BYOC_STORE names PostgreSQL but no database; write "
                "postgresql://user@host:5432/dbname (the password in PGPASSWORD or the URL)"
            )
        return where
    if where.startswith("sqlite://"):
        path = where.removeprefix("sqlite:///") if where.startswith("sqlite:///") else where[9:]
        if not path:
            raise ConfigurationError(
                "BYOC_STORE=sqlite:/// names no file; write sqlite:///byoc.sqlite3 (relative) "
                "or sqlite:////var/lib/byoc/byoc.sqlite3 (absolute)"
            )
        return path
    if where.startswith("memory:"):
        raise ConfigurationError(
            "BYOC_STORE=memory: keeps nothing between processes; point BYOC_STORE at a SQLite "
            "file (the default is byoc.sqlite3)"
        )
    if "://" in where:
        # Only the scheme is shown: a URL may carry a password.
        scheme = where.split("://", 1)[0]
        raise ConfigurationError(
            f"BYOC_STORE uses {scheme}://, which this server does not support; use a SQLite "
            "file path (byoc.sqlite3), sqlite:///path/to/byoc.sqlite3, or a PostgreSQL URL "
            "(postgresql://user@host/db)"
        )
    return where


def _store_shown(location: str) -> str:
    """The location without a password, fit for a banner, a page or a log line."""
    if not is_postgres_url(location):
        return location
    parts = urlsplit(location)
    if parts.password is None:
        return location
    netloc = parts.netloc.replace(f":{parts.password}@", f":{MASK}@", 1)
    return parts._replace(netloc=netloc).geturl()


def _number(
    name: str,
    value: str | None,
    default: float,
    low: float,
    high: float,
    unit: str,
    *,
    whole: bool = False,
) -> float:
    text = (value or "").strip()
    if not text:
        return default
    try:
        number = float(text)
    except ValueError:
        number = float("nan")
    if not (low <= number <= high) or (whole and number != int(number)):
        kind = "a whole number" if whole else "a number"
        raise ConfigurationError(
            f"{name} must be {kind} of {unit} from {low:g} to {high:g} (got {text[:40]!r})"
        )
    return number


def _whole(name: str, value: str | None, default: int, low: int, high: int, unit: str) -> int:
    return int(_number(name, value, default, low, high, unit, whole=True))


def _public_url(value: str | None) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigurationError(
            f"BYOC_PUBLIC_URL must be the http(s) address where the bridge is reachable, like "
            f"https://byoc.example.com or https://example.com/byoc (got {text[:200]!r})"
        )
    return text.rstrip("/")


_Choice = TypeVar("_Choice", bound=str)


def _one_of(value: str | None, setting: str, choices: tuple[_Choice, ...], why: str) -> _Choice:
    """`value` (case and spaces aside) when it is one of `choices`; the first when unset."""
    text = (value or "").strip().lower() or choices[0]
    for choice in choices:
        if text == choice:
            return choice
    raise ConfigurationError(f"{setting} must be {' or '.join(choices)} (got {text[:40]!r}); {why}")


_DELIVERIES: tuple[Delivery, ...] = ("durable", "inline")
_HELPDESK_NAMES: tuple[Helpdesk, ...] = tuple(HELPDESKS)


def _channel_names(value: str | None) -> tuple[str, ...] | None:
    if value is None or not value.strip():
        return None
    names = tuple(dict.fromkeys(n.strip() for n in value.split(",") if n.strip()))
    if not names:
        raise ConfigurationError(
            "BYOC_CHANNELS lists no channel; name them comma-separated (viber,kakao) or unset it "
            "to enable every configured channel (`byoc channels` lists the installed ones)"
        )
    for name in names:
        if not INSTANCE_NAME.fullmatch(name) and name not in installed(CHANNELS_GROUP):
            raise ConfigurationError(
                f"BYOC_CHANNELS: {name[:60]!r} is not a channel name; a name is 1 to 40 "
                "lower-case letters, digits and dashes, starting with a letter (viber-eu)"
            )
    return names


def _admin_token(value: str | None, name: str = "BYOC_ADMIN_TOKEN") -> Secret | None:
    text = (value or "").strip()
    if not text:
        return None
    if len(text) < MIN_ADMIN_TOKEN:
        raise ConfigurationError(
            f"{name} is too short ({len(text)} characters); use at least "
            f"{MIN_ADMIN_TOKEN} random characters, e.g. the output of "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return Secret(text)


def _grace(value: str | None) -> float:
    text = (value or "").strip()
    if not text:
        return DEFAULT_GRACE
    try:
        grace = float(text)
    except ValueError:
        grace = -1.0
    if not (0 <= grace < 3600):
        raise ConfigurationError(
            f"BYOC_SHUTDOWN_GRACE must be a number of seconds from 0 to 3600 (got {text[:40]!r})"
        )
    return grace


def _max_connections(value: str | None) -> int | None:
    if not (value or "").strip():
        return None
    return _whole("BYOC_MAX_CONNECTIONS", value, 0, 1, MAX_CONNECTIONS, "connections")


@attrs.frozen(kw_only=True)
class ChannelChoice:
    """The channels a configuration enables, and why each other one is not.

    - `enabled`: the channel instances, each with its instance name.
    - `skipped`: instance name → why it is not enabled (its settings are missing).
    - `broken`: instance name → the error of a plugin that failed to import or whose
      `from_env` raised something else than a `ConfigurationError`: left out, the others run.
    - `kinds`: instance name → the plugin kind it is an instance of.
    """

    enabled: tuple[Channel, ...]
    skipped: Mapping[str, str] = attrs.field(factory=dict)
    broken: Mapping[str, str] = attrs.field(factory=dict)
    kinds: Mapping[str, str] = attrs.field(factory=dict)


def instance_settings(
    values: Mapping[str, str], *, name: str, channel_class: type[Channel]
) -> dict[str, str]:
    """The settings `channel_class.from_env` gets for the instance called `name`.

    The first instance of a kind (named after it) reads the kind's own settings
    (`BYOC_VIBER_*`). Another instance (`viber-eu`) reads its own (`BYOC_VIBER_EU_*`) under
    the kind's names, and none of the first instance's: two accounts never share a credential
    by accident.
    """
    kind = getattr(channel_class, "name", "")
    if name == kind:
        return dict(values)
    prefix, own = settings_prefix_of(channel_class), _setting_name(name) + "_"
    env = {k: v for k, v in values.items() if not k.startswith(prefix)}
    env.update({prefix + k[len(own) :]: v for k, v in values.items() if k.startswith(own)})
    env.pop(prefix + "KIND", None)
    return env


def _instance_error(message: str, *, name: str, channel_class: type[Channel]) -> str:
    """`message` with the kind's setting names spelled as the instance's (`BYOC_VIBER_EU_…`)."""
    if name == getattr(channel_class, "name", ""):
        return message
    prefix, own = settings_prefix_of(channel_class), _setting_name(name) + "_"
    return re.sub(rf"\b{re.escape(prefix)}(?=[A-Z0-9])", own, message)


@attrs.frozen(kw_only=True)
class Settings:
    """The server's settings, checked. Build with `load_settings()`.

    `values` holds every `BYOC_*` setting as text (the environment over the file); channels and
    Freshchat read it through their `from_env`. It never shows in `repr`.
    """

    values: Mapping[str, str] = attrs.field(repr=False)
    public_url: str | None
    store: str
    """Where state is kept, as shown to people: a PostgreSQL password is masked."""
    channel_names: tuple[str, ...] | None
    delivery: Delivery
    admin_token: Secret | None
    metrics_token: Secret | None
    shutdown_grace: float
    config_file: str | None = None
    store_url: Secret = attrs.field(default=Secret(DEFAULT_STORE), repr=False)
    """Where state is kept, password included: for `byoc.service.open_store` only."""
    store_pool_size: int = DEFAULT_POOL_SIZE
    concurrency: int = DEFAULT_CONCURRENCY
    lease: float = DEFAULT_LEASE
    dead_letter_retention: float = DEFAULT_RETENTION_DAYS * 86400
    """Seconds."""
    messaging: Helpdesk = "freshchat"
    """The help desk (`BYOC_MESSAGING`); the demo plays it on its emulator."""
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    """Seconds `byoc serve` waits for a request's head (`BYOC_HEADER_TIMEOUT`)."""
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    """Seconds `byoc serve` waits between two chunks of a body (`BYOC_BODY_TIMEOUT`)."""
    max_connections: int | None = None
    """`BYOC_MAX_CONNECTIONS`; None: derived from the file limit when serving."""

    @property
    def demo(self) -> bool:
        """True when no help desk's credential is set at all: the server runs the demo."""
        return not any(
            self.values.get(name, "").strip() for names in HELPDESKS.values() for name in names
        )

    def redactor(self) -> Redactor:
        """Blanks out every credential of these settings (for log handlers and messages)."""
        redactor = Redactor.from_settings(self.values)
        location = self.store_url.reveal()
        if is_postgres_url(location):
            password = urlsplit(location).password
            if password:
                redactor.add([password])
        return redactor

    def notice_texts(self, channel: str) -> tuple[str | None, str | None]:
        """A channel's `(assigned, resolved)` notice texts: `BYOC_<CHANNEL>_NOTICE_ASSIGNED`
        and `..._NOTICE_RESOLVED` (TOML: `notice_assigned` in the channel's table); None if
        unset (no notice)."""
        texts = (
            self.values.get(_setting_name(channel, "notice", kind), "").strip() or None
            for kind in ("assigned", "resolved")
        )
        assigned, resolved = texts
        return assigned, resolved

    def require_public_url(self, why: str) -> str:
        if self.public_url is None:
            raise ConfigurationError(
                f"BYOC_PUBLIC_URL is not set; {why}. Set it to the HTTPS address where this "
                "bridge is reachable from the internet, e.g. https://byoc.example.com (during "
                "development a tunnel such as ngrok or cloudflared gives one)"
            )
        return self.public_url

    def channel_kind(self, name: str) -> str:
        """The plugin kind of the instance `name`: its `BYOC_<NAME>_KIND`, else `name`."""
        return self.values.get(_setting_name(name, "kind"), "").strip().lower() or name

    def choose_channels(self) -> ChannelChoice:
        """Build the enabled channel instances from their settings.

        With `BYOC_CHANNELS` every named instance must be of an installed kind and configured
        (an error names the setting to fix). Without it, every installed kind whose settings
        are present is enabled, and every instance declared by a `BYOC_<NAME>_KIND` setting;
        the others are listed in `skipped` with the reason. Either way a plugin that fails to
        import, or whose `from_env` crashes, is logged and listed in `broken`, and the others
        run without it.
        """
        explicit = self.channel_names is not None
        if self.channel_names is not None:
            names = list(self.channel_names)
        else:
            declared = [
                m.group(1).lower().replace("_", "-")
                for key in self.values
                if (m := _KIND_SETTING.fullmatch(key))
            ]
            names = list(dict.fromkeys([*installed(CHANNELS_GROUP), *sorted(declared)]))
        kinds = {name: self.channel_kind(name) for name in names}
        known = installed(CHANNELS_GROUP)
        enabled: list[Channel] = []
        skipped: dict[str, str] = {}
        broken: dict[str, str] = {}
        for name in names:
            kind = kinds[name]
            if kind not in known:
                which = f"its kind {kind!r} (BYOC_{name.upper().replace('-', '_')}_KIND)"
                said = f"{which if kind != name else 'it'} is not installed (installed channel "
                said += f"plugins: {', '.join(known) or 'none'})"
                if explicit:
                    raise ConfigurationError(f"BYOC_CHANNELS names {name!r}, but {said}")
                skipped[name] = said
                continue
            try:
                channel = self._build(name, load_channel_class(kind))
            except ConfigurationError as exc:
                if explicit:
                    raise ConfigurationError(
                        f"BYOC_CHANNELS enables {name!r}, but it is not configured: {exc}"
                    ) from exc
                skipped[name] = str(exc)
                log.debug("channel=%s enabled=no reason=%r", name, str(exc))
                continue
            except PluginError as exc:
                broken[name] = str(exc)
                log.error("channel=%s enabled=no broken=%r", name, str(exc))
                continue
            enabled.append(channel)
        return ChannelChoice(enabled=tuple(enabled), skipped=skipped, broken=broken, kinds=kinds)

    def _build(self, name: str, channel_class: type[Channel]) -> Channel:
        """`channel_class.from_env` for the instance `name`, named so; a crash of the plugin's
        code is a `PluginError`, a missing setting a `ConfigurationError` naming the
        instance's own setting."""
        env = instance_settings(self.values, name=name, channel_class=channel_class)
        try:
            channel = channel_class.from_env(env)
        except ConfigurationError as exc:
            raise ConfigurationError(
                _instance_error(str(exc), name=name, channel_class=channel_class)
            ) from exc
        except Exception as exc:  # a third party's bug must not stop the other channels
            raise PluginError(name, f"from_env raised {type(exc).__name__}: {exc}") from exc
        if not isinstance(channel, Channel):
            raise PluginError(name, f"from_env returned a {type(channel).__name__}")
        # The first instance keeps the kind's own name, whatever its plugin chose.
        return channel if name == channel.name else channel.named(name)


def load_settings(
    environ: Mapping[str, str] | None = None, *, config_file: str | None = None
) -> Settings:
    """Read and check the settings: `environ` (default `os.environ`) over `config_file`.

    `config_file` defaults to `BYOC_CONFIG` when set.
    """
    env = dict(os.environ if environ is None else environ)
    path = config_file or env.get("BYOC_CONFIG", "").strip() or None
    values = read_config_file(path) if path else {}
    values.update({k: v for k, v in env.items() if k.startswith("BYOC_")})
    store = store_path(values.get("BYOC_STORE"))
    return Settings(
        values=values,
        public_url=_public_url(values.get("BYOC_PUBLIC_URL")),
        store=_store_shown(store),
        store_url=Secret(store),
        store_pool_size=_whole(
            "BYOC_STORE_POOL_SIZE",
            values.get("BYOC_STORE_POOL_SIZE"),
            DEFAULT_POOL_SIZE,
            1,
            1000,
            "connections",
        ),
        concurrency=_whole(
            "BYOC_CONCURRENCY",
            values.get("BYOC_CONCURRENCY"),
            DEFAULT_CONCURRENCY,
            1,
            100_000,
            "deliveries in flight",
        ),
        lease=_number("BYOC_LEASE", values.get("BYOC_LEASE"), DEFAULT_LEASE, 1, 600, "seconds"),
        dead_letter_retention=86400
        * _number(
            "BYOC_DEAD_LETTER_RETENTION_DAYS",
            values.get("BYOC_DEAD_LETTER_RETENTION_DAYS"),
            DEFAULT_RETENTION_DAYS,
            0.001,
            36500,
            "days",
        ),
        channel_names=_channel_names(values.get("BYOC_CHANNELS")),
        delivery=_one_of(
            values.get("BYOC_DELIVERY"),
            "BYOC_DELIVERY",
            _DELIVERIES,
            "durable, the default, stores each message before answering its webhook and "
            "retries it until delivered",
        ),
        admin_token=_admin_token(values.get("BYOC_ADMIN_TOKEN")),
        metrics_token=_admin_token(values.get("BYOC_METRICS_TOKEN"), "BYOC_METRICS_TOKEN"),
        shutdown_grace=_grace(values.get("BYOC_SHUTDOWN_GRACE")),
        config_file=str(path) if path else None,
        messaging=_one_of(
            values.get("BYOC_MESSAGING"),
            "BYOC_MESSAGING",
            _HELPDESK_NAMES,
            "the help desk the bridge posts your users' messages into",
        ),
        header_timeout=_number(
            "BYOC_HEADER_TIMEOUT",
            values.get("BYOC_HEADER_TIMEOUT"),
            DEFAULT_HEADER_TIMEOUT,
            0.1,
            3600,
            "seconds",
        ),
        body_timeout=_number(
            "BYOC_BODY_TIMEOUT",
            values.get("BYOC_BODY_TIMEOUT"),
            DEFAULT_BODY_TIMEOUT,
            0.1,
            3600,
            "seconds",
        ),
        max_connections=_max_connections(values.get("BYOC_MAX_CONNECTIONS")),
    )
