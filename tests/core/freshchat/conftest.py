"""Fixtures of the Freshchat tests: the in-test Freshchat and a webhook signing key."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from .fakes import FakeFreshchat


@pytest.fixture
def fake() -> FakeFreshchat:
    return FakeFreshchat()


@pytest.fixture
async def http(fake: FakeFreshchat) -> AsyncIterator[httpx.AsyncClient]:
    async with fake.http() as client:
        yield client


@pytest.fixture(scope="session")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)
