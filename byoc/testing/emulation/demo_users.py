"""The part of a channel's demo kit that plays users on the channel's emulator.

Every emulator-backed demo kit (`byoc demo`, `byoc serve` without credentials) keeps the same
things: the emulator, the channel configured against it, the clients it made on the demo's
network, and one emulated user per name the demo uses. `EmulatedDemo` holds them; a kit mixes
it in before `byoc.demo.kit.DemoKit` (which sits above `byoc.testing` and so cannot be
imported here) and says how to make a user.

```python
class ViberDemo(EmulatedDemo[ViberEmulator, SimulatedUser], DemoKit):
    def _new_user(self, name: str) -> SimulatedUser:
        return self.emulator.user(name=name)
```
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Generic, Protocol, TypeVar

import httpx

from ...asgi import ASGIApp
from ...channel import Channel

__all__ = ["DemoEmulator", "EmulatedDemo"]

_User = TypeVar("_User")
_Emulator = TypeVar("_Emulator", bound="DemoEmulator")


class DemoEmulator(Protocol):
    """What a demo needs of an emulator: its app, waiting for its deliveries, closing it."""

    @property
    def app(self) -> ASGIApp: ...

    async def drain(self) -> None: ...

    async def aclose(self) -> None: ...


class EmulatedDemo(Generic[_Emulator, _User]):
    """A demo's emulator, channel, network clients (closed with it) and users by name."""

    def __init__(
        self, emulator: _Emulator, channel: Channel, clients: list[httpx.AsyncClient]
    ) -> None:
        self.emulator = emulator
        self._channel = channel
        self._clients = clients
        self._users: dict[str, _User] = {}

    @property
    def channel(self) -> Channel:
        return self._channel

    @property
    def app(self) -> ASGIApp:
        return self.emulator.app

    @abstractmethod
    def _new_user(self, name: str) -> _User:
        """A new emulated user for the demo's name `name`."""

    def _user(self, name: str) -> _User:
        user = self._users.get(name)
        if user is None:
            user = self._users[name] = self._new_user(name)
        return user

    async def settle(self) -> None:
        await self.emulator.drain()

    async def aclose(self) -> None:
        await self.emulator.aclose()
        for client in self._clients:
            await client.aclose()
