"""Where CLI commands find the store and settings."""

from __future__ import annotations

import argparse
import os

from ..errors import ConfigurationError
from ..redaction import install_redaction
from ..service import open_store as _open_store
from ..settings import DEFAULT_STORE, Settings, is_postgres_url, load_settings, store_path
from ..store import Store

__all__ = [
    "DEFAULT_STORE",
    "add_config_option",
    "log_format",
    "open_existing_store",
    "redact_logs",
    "settings_from",
]


def open_existing_store(location: str) -> Store:
    """The store at `location` (a `BYOC_STORE` value), which must exist already, opened beside
    a bridge that may be running on it (a tool's view: no exclusive lock).

    A command that reads the store (`byoc dead-letters`) must not create an empty one where a
    path was mistyped and then report that it holds nothing.
    """
    if is_postgres_url(location):
        return _open_store(location, exclusive=False, migrate=False)
    path = store_path(location)
    if not os.path.exists(path):
        raise ConfigurationError(
            f"there is no store at {path}: check --store, BYOC_STORE or the config file's "
            "`store` (it must name the file `byoc serve` uses)"
        )
    return _open_store(path, exclusive=False)


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="a TOML file of settings (environment variables win over it); default $BYOC_CONFIG",
    )


def settings_from(args: argparse.Namespace) -> Settings:
    """The settings for a command: the environment over `--config`."""
    return load_settings(config_file=getattr(args, "config", None))


def log_format(label: str | None = None) -> str:
    marker = f" {label}" if label else ""
    return f"%(asctime)s{marker} %(levelname)s %(name)s: %(message)s"


def redact_logs(settings: Settings, label: str | None = None) -> None:
    """Every log line from now on has the settings' credentials blanked out."""
    install_redaction(settings.redactor(), log_format(label))
