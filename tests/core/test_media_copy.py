"""`copy_media`: a user's media lands in the help desk through the channel's credentials, or
the agent reads a placeholder; the channel's URL never reaches the help desk."""

from __future__ import annotations

from collections.abc import AsyncIterator

import attrs
import pytest

from byoc.channel import Capabilities
from byoc.errors import PermanentError, RetryableError
from byoc.media import MediaPart, MediaStream
from byoc.media_copy import copy_media
from byoc.models import File, Image, Text, Video
from byoc.testing.fake_channel import FakeChannel
from byoc.testing.media_host import MediaHost
from byoc.testing.rig import BridgeRig

PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)


class PrivateFiles(FakeChannel):
    """A messenger whose files need the bot's token: parts carry `private:<id>` only."""

    capabilities = attrs.evolve(FakeChannel.capabilities, media_urls_expire=True)

    def __init__(self) -> None:
        super().__init__()
        self.files = {"f1": PNG}
        self.fetched: list[tuple[str, int]] = []

    async def fetch_media(self, part: MediaPart, *, max_bytes: int) -> MediaStream:
        self.fetched.append((part.url, max_bytes))
        file_id = part.url.removeprefix("private:")
        if file_id == "huge":  # the messenger declares 30 MB before sending any of it
            return MediaStream(_nothing(), max_bytes=max_bytes, size=30 * 1024 * 1024)
        data = self.files.get(file_id)
        if data is None:
            raise PermanentError("the messenger has no such file any more")
        return MediaStream.from_bytes(data, max_bytes=max_bytes, content_type="image/png")


async def _nothing() -> AsyncIterator[bytes]:
    yield b""


async def test_media_behind_credentials_is_uploaded_from_the_bytes_the_channel_fetched() -> None:
    async with BridgeRig() as rig:
        channel = PrivateFiles()
        part = Image(url="private:f1", caption="receipt", name="receipt.png")
        (copied,), failures = await copy_media([part], channel=channel, messaging=rig.messaging)
        assert failures == () and isinstance(copied, Image)
        assert copied.helpdesk_ref and copied.url.startswith("http://freshchat.test/")
        assert channel.fetched == [("private:f1", rig.messaging.max_media_bytes)]
        [upload] = rig.freshchat.state.uploads.values()
        assert upload.data == PNG


async def test_public_media_is_fetched_by_the_help_desk_itself() -> None:
    async with BridgeRig() as rig:
        cdn = MediaHost("http://cdn.test")
        rig.network.add("cdn.test", cdn)
        channel = FakeChannel()
        channel.capabilities = attrs.evolve(channel.capabilities, media_urls_expire=True)
        part = File(url=cdn.put("report.pdf", b"%PDF-1.7"), name="report.pdf")
        (copied,), failures = await copy_media([part], channel=channel, messaging=rig.messaging)
        assert failures == () and isinstance(copied, File) and copied.helpdesk_ref
        assert cdn.requests == [("GET", "/report.pdf")]


async def test_what_cannot_be_copied_becomes_a_placeholder_without_its_url() -> None:
    async with BridgeRig() as rig:
        parts = [Text(text="look"), Image(url="private:gone", caption="my order", name="o.png")]
        copied, failures = await copy_media(parts, channel=PrivateFiles(), messaging=rig.messaging)
        assert copied[0] == Text(text="look")
        assert copied[1] == Text(
            text="[The user sent a picture (o.png), not shown here: it could not be copied from "
            "the messenger. Ask them to send it again.]\nmy order"
        )
        assert [(f.kind, f.too_large) for f in failures] == [("picture", False)]
        assert "no such file" in failures[0].error
        assert rig.freshchat.state.uploads == {}


async def test_media_over_the_help_desks_limit_says_so_with_its_size() -> None:
    async with BridgeRig() as rig:
        part = Image(url="private:huge")
        (shown,), (failure,) = await copy_media(
            [part], channel=PrivateFiles(), messaging=rig.messaging
        )
        assert failure.too_large
        assert shown == Text(
            text="[The user sent a picture (30.0 MB), not shown here: it is over the 25.0 MB "
            "the help desk stores. Ask them to send it again.]"
        )
        assert rig.freshchat.state.uploads == {}


async def test_a_channel_whose_media_urls_last_is_left_alone() -> None:
    async with BridgeRig() as rig:
        parts = (Video(url="https://videos.example/v.mp4"), Text(text="hi"))
        assert await copy_media(parts, channel=FakeChannel(), messaging=rig.messaging) == (
            parts,
            (),
        )


def test_capabilities_say_which_channels_are_copied() -> None:
    assert PrivateFiles.capabilities.media_urls_expire
    assert not Capabilities(send=frozenset({Text})).media_urls_expire


async def test_an_outage_while_copying_is_raised_for_a_retry_not_a_placeholder() -> None:
    class Unreachable(PrivateFiles):
        async def fetch_media(self, part: MediaPart, *, max_bytes: int) -> MediaStream:
            raise RetryableError("the messenger's file server is down", retry_after=30)

    async with BridgeRig() as rig:
        part = Image(url="https://files.private.test/a.jpg")
        with pytest.raises(RetryableError, match="down"):
            await copy_media([part], channel=Unreachable(), messaging=rig.messaging)
