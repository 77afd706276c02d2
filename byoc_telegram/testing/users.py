"""The emulator's people: Telegram users who talk to the bot, and what the bot sent them."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["SentMessage", "TelegramUser"]


@attrs.define(eq=False)
class TelegramUser:
    """A Telegram user in a private chat with the bot; the chat's id is the user's id.

    `keyboard` is the reply keyboard the bot shows them now (button texts), `blocked` whether
    they blocked the bot.
    """

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "en"
    blocked: bool = False
    keyboard: list[str] = attrs.field(factory=list)
    one_time_keyboard: bool = False

    def as_json(self) -> dict[str, Any]:
        """The `User` object Telegram sends for them."""
        found = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        optional = {
            "last_name": self.last_name,
            "username": self.username,
            "language_code": self.language_code,
        }
        return {**found, **{k: v for k, v in optional.items() if v is not None}}

    def chat_json(self) -> dict[str, Any]:
        """The `Chat` object of their private chat with the bot."""
        names = {"first_name": self.first_name, "last_name": self.last_name}
        return {
            "id": self.id,
            "type": "private",
            **{k: v for k, v in names.items() if v is not None},
            **({"username": self.username} if self.username else {}),
        }


@attrs.frozen(kw_only=True)
class SentMessage:
    """A message the bot sent: the method, what it showed, and the `Message` Telegram answered.

    `text` is the text or the caption; `media` the URL or file name of a photo, video or
    document; `buttons` the texts of the keyboard it carried.
    """

    chat_id: int
    message_id: int
    method: str
    text: str | None
    media: str | None
    buttons: tuple[str, ...]
    message: dict[str, Any]
    at: float

    def as_json(self) -> dict[str, Any]:
        return {
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "method": self.method,
            "text": self.text,
            "media": self.media,
            "buttons": list(self.buttons),
            "message": self.message,
            "at": self.at,
        }
