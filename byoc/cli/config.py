"""Where CLI commands find the store and settings."""

from __future__ import annotations

import argparse
import os

from ..redaction import install_redaction
from ..service import open_store as _open_store
from ..settings import DEFAULT_STORE, Settings, load_settings, store_path
from ..store import Store

__all__ = [
    "DEFAULT_STORE",
    "add_config_option",
    "log_format",
    "open_store",
    "redact_logs",
    "settings_from",
]


def open_store(location: str | None = None) -> Store:
    """The store named by `location`, else `$BYOC_STORE`, else `byoc.sqlite3` here, opened
    beside a bridge that may be running on it (a tool's view: no exclusive lock)."""
    return _open_store(store_path(location or os.environ.get("BYOC_STORE")), exclusive=False)


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
