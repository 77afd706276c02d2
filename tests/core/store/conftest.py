"""Fixtures shared by the store tests."""

from __future__ import annotations

import pytest

from byoc.testing.clock import FakeClock
from tests.postgres import postgres_server, postgres_url  # noqa: F401


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(autoadvance=True)
