"""상담톡 dealers, one module each, chosen by `BYOC_KAKAO_DEALER` (default "happytalk").

Adding a dealer: write `byoc_kakao/dealers/<name>.py` with a class implementing `Dealer` and a
`from_env(env)` classmethod, then add it to `DEALERS`.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from byoc.errors import ConfigurationError

from .base import Dealer, DealerOutbound, DealerPayload, MediaUpload

__all__ = [
    "DEALERS",
    "Dealer",
    "DealerOutbound",
    "DealerPayload",
    "MediaUpload",
    "dealer_from_env",
]

DEALERS: dict[str, str] = {
    "happytalk": "byoc_kakao.dealers.happytalk:HappyTalkDealer",
}
"""Dealer name → `module:Class`; imported only when chosen."""


def dealer_from_env(env: Mapping[str, str]) -> Dealer:
    """The dealer named by `BYOC_KAKAO_DEALER`, configured from `env`."""
    name = env.get("BYOC_KAKAO_DEALER", "").strip().lower() or "happytalk"
    target = DEALERS.get(name)
    if target is None:
        known = ", ".join(sorted(DEALERS))
        raise ConfigurationError(f"BYOC_KAKAO_DEALER={name!r} is not a known dealer ({known})")
    module_name, _, class_name = target.partition(":")
    factory = getattr(importlib.import_module(module_name), class_name)
    dealer: Dealer = factory.from_env(env)
    return dealer
