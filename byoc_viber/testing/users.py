"""Simulated Viber users: they write to the bot, subscribe, leave, and read what it sends."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from typing import Any, Protocol

import attrs

__all__ = ["SentMessage", "SimulatedUser", "UserNetwork"]

# Tiny but well-formed files, so a bridge that inspects what it downloads sees the right type.
_JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")
_MP4 = bytes.fromhex("000000186674797069736f6d0000020069736f6d6d703432")
_PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


class UserNetwork(Protocol):
    """What a simulated user does through the emulator (`ViberEmulator` is one)."""

    async def user_sends(self, user: SimulatedUser, message: dict[str, Any]) -> int: ...

    def host_media(self, data: bytes, file_name: str, content_type: str | None = None) -> str: ...

    async def user_subscribes(self, user: SimulatedUser) -> None: ...

    async def user_unsubscribes(self, user: SimulatedUser) -> None: ...

    async def user_opens(self, user: SimulatedUser, context: str | None) -> None: ...


@attrs.frozen(kw_only=True)
class SentMessage:
    """A message the bot sent, as Viber accepted it; `welcome` for a conversation_started answer."""

    token: int
    receiver: str
    body: Mapping[str, Any]
    at: float
    welcome: bool = False

    @property
    def type(self) -> str | None:
        kind = self.body.get("type")
        return kind if isinstance(kind, str) else None

    @property
    def text(self) -> str | None:
        text = self.body.get("text")
        return text if isinstance(text, str) else None


class SimulatedUser:
    """One Viber user of the emulated bot. Create with `ViberEmulator.user(...)`.

    Each action posts the callback Viber would (signed, retried) and returns at once; await
    `emulator.drain()` to wait for the bridge to have answered. Messages the bot sends to the
    user collect in `received`.

    ```python
    alice = emulator.user(name="Alice", language="en", country="GB")
    token = await alice.send_text("hello")
    await emulator.drain()
    ```
    """

    def __init__(
        self,
        emulator: UserNetwork,
        *,
        id: str | None = None,
        name: str | None = "Viber User",
        avatar: str | None = None,
        language: str | None = "en",
        country: str | None = "GB",
        api_version: int = 10,
        subscribed: bool = False,
        online: bool = True,
    ) -> None:
        self._emulator = emulator
        # Viber user ids are 16 random bytes in base64, e.g. "jc9HsWTZ2Yf2NkRZ8KcNug==".
        self.id = id or base64.b64encode(secrets.token_bytes(16)).decode()
        self.name = name
        self.avatar = avatar
        self.language = language
        self.country = country
        self.api_version = api_version
        self.subscribed = subscribed
        self.online = online
        self.received: list[SentMessage] = []
        self.tracking_data: str | None = None
        self.last_message_at: float | None = None
        self.unanswered: list[float] = []
        self.details_calls: list[float] = []

    def as_json(self) -> dict[str, Any]:
        """The user object of callbacks (`sender`, `user`); name and avatar may be missing."""
        user: dict[str, Any] = {"id": self.id}
        for key in ("name", "avatar", "country", "language"):
            value = getattr(self, key)
            if value is not None:
                user[key] = value
        user["api_version"] = self.api_version
        return user

    # -- what a user does --------------------------------------------------------------------

    async def send(self, message: Mapping[str, Any]) -> int:
        """Send any Viber message object (also types the bridge does not know); its token."""
        return await self._emulator.user_sends(self, dict(message))

    async def send_text(self, text: str) -> int:
        return await self.send({"type": "text", "text": text})

    async def send_picture(
        self, data: bytes = _JPEG, *, caption: str = "", file_name: str = "photo.jpg"
    ) -> int:
        url = self._emulator.host_media(data, file_name)
        message = {"type": "picture", "text": caption, "media": url, "thumbnail": url}
        return await self.send({**message, "file_name": file_name})

    async def send_video(
        self,
        data: bytes = _MP4,
        *,
        file_name: str = "clip.mp4",
        duration: int = 3,
        caption: str = "",
    ) -> int:
        url = self._emulator.host_media(data, file_name)
        message: dict[str, Any] = {"type": "video", "media": url, "size": len(data)}
        message["duration"] = duration
        if caption:
            message["text"] = caption
        return await self.send(message)

    async def send_file(self, data: bytes = _PDF, *, file_name: str = "document.pdf") -> int:
        url = self._emulator.host_media(data, file_name)
        return await self.send(
            {"type": "file", "media": url, "file_name": file_name, "file_size": len(data)}
        )

    async def send_sticker(self, sticker_id: int = 40133) -> int:
        return await self.send({"type": "sticker", "sticker_id": sticker_id})

    async def send_contact(self, name: str, phone: str) -> int:
        return await self.send(
            {"type": "contact", "contact": {"name": name, "phone_number": phone}}
        )

    async def send_url(self, url: str) -> int:
        return await self.send({"type": "url", "media": url})

    async def send_location(self, lat: float, lon: float) -> int:
        return await self.send({"type": "location", "location": {"lat": lat, "lon": lon}})

    @property
    def keyboard(self) -> list[Mapping[str, Any]]:
        """The buttons of the keyboard the app shows: the last received message's, if any."""
        if not self.received:
            return []
        keyboard = self.received[-1].body.get("keyboard")
        buttons = keyboard.get("Buttons") if isinstance(keyboard, Mapping) else None
        return [b for b in buttons if isinstance(b, Mapping)] if isinstance(buttons, list) else []

    async def tap(self, text: str) -> int:
        """Tap the `reply` button of the shown keyboard whose text is `text`: the app sends
        its `ActionBody` as the user's text message (with the tracking data, as every message).

        Raises `LookupError` when the keyboard shows no such button.
        """
        for button in self.keyboard:
            if button.get("ActionType", "reply") == "reply" and button.get("Text") == text:
                return await self.send({"type": "text", "text": button["ActionBody"]})
        shown = [b.get("Text") for b in self.keyboard]
        raise LookupError(f"no reply button {text!r} on the keyboard shown (buttons: {shown})")

    async def subscribe(self) -> None:
        """Tap "subscribe": a `subscribed` callback (none when already subscribed)."""
        await self._emulator.user_subscribes(self)

    async def unsubscribe(self) -> None:
        """Leave the bot: an `unsubscribed` callback; sends to the user fail with status 6."""
        await self._emulator.user_unsubscribes(self)

    async def open(self, context: str | None = None) -> None:
        """Open the chat (a deep link or the Message button): `conversation_started`.

        A welcome message in the webhook's answer lands in `received` with `welcome=True`.
        """
        await self._emulator.user_opens(self, context)

    def __repr__(self) -> str:
        return f"SimulatedUser(id={self.id!r}, name={self.name!r})"
