"""Files users send are fetched with the bot's token, which never leaves the channel: not in a
part, not in an error; Telegram's 20 MB cap is a `MediaTooLarge`, which the bridge turns into
a placeholder the agent can read."""

from __future__ import annotations

import pytest

from byoc.errors import DeliveryError, MediaTooLarge
from byoc.models import File, Image

from .conftest import World

MB = 1024 * 1024


async def test_a_file_over_20_mb_is_too_large_without_a_download(world: World) -> None:
    big = File(url="tg-file:BQACAgIAAxkBig", name="film.mkv", size=21 * MB)
    with pytest.raises(MediaTooLarge) as caught:
        await world.channel.fetch_media(big, max_bytes=100 * MB)
    assert (caught.value.size, caught.value.limit) == (21 * MB, 20 * MB)
    assert not any(method == "getFile" for method, _ in world.emulator.calls)


async def test_telegrams_file_is_too_big_is_too_large(world: World) -> None:
    user = world.emulator.user("Alice")
    update = await world.emulator.send_media(
        user, "document", bytes(20 * MB + 1), file_name="x.zip"
    )
    await world.emulator.drain()
    (event,) = world.endpoint.events
    file = event.parts[0]
    assert isinstance(file, File)
    unsized = File(url=file.url, name=file.name)  # as if the update had not said its size
    with pytest.raises(MediaTooLarge):
        await world.channel.fetch_media(unsized, max_bytes=100 * MB)
    assert update["message"]["document"]["file_size"] == 20 * MB + 1


async def test_no_more_than_max_bytes_is_read(world: World) -> None:
    user = world.emulator.user("Alice")
    await world.emulator.send_media(user, "photo", bytes(5000))
    await world.emulator.drain()
    image = world.endpoint.events[0].parts[0]
    assert isinstance(image, Image)
    with pytest.raises(MediaTooLarge):
        media = await world.channel.fetch_media(image, max_bytes=4999)
        assert media is not None
        await media.read()


async def test_the_token_is_in_no_error(world: World) -> None:
    unknown = Image(url="tg-file:AgACAgIAAxkBAAnotafile", size=10)
    with pytest.raises(DeliveryError) as caught:
        await world.channel.fetch_media(unknown, max_bytes=MB)
    assert "invalid file_id" in str(caught.value)
    assert world.emulator.token not in str(caught.value)


async def test_a_url_that_is_not_a_telegram_file_is_left_to_the_help_desk(world: World) -> None:
    assert (
        await world.channel.fetch_media(Image(url="https://cdn.test/a.jpg"), max_bytes=MB) is None
    )
