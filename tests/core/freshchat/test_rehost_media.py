"""`rehost_media`: bytes a channel fetched with its credentials land in Freshchat, by upload."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from byoc.errors import MediaTooLarge, PermanentError, RetryableError
from byoc.freshchat import FreshchatMessaging
from byoc.media import MediaStream
from byoc.messaging import Messaging
from byoc.models import File, Image
from byoc.testing.rig import BridgeRig
from tests.core.recording_messaging import RecordingMessaging

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def test_an_image_is_uploaded_and_points_at_freshchat() -> None:
    async with BridgeRig() as rig:
        part = Image(url="mychat-file:AgAD42", caption="receipt")
        media = MediaStream.from_bytes(PNG, max_bytes=1000, content_type="image/png")
        copied = await rig.messaging.rehost_media(part, media)
        assert isinstance(copied, Image) and copied.helpdesk_ref
        assert copied.url != part.url and copied.caption == "receipt"
        [upload] = rig.freshchat.state.uploads.values()
        assert upload.data == PNG


async def test_a_file_keeps_its_name_and_gets_a_file_hash() -> None:
    async with BridgeRig() as rig:
        part = File(url="mychat-file:BQAD7", name="견적서.pdf")
        media = MediaStream.from_bytes(b"%PDF-1.7", max_bytes=1000, name="견적서.pdf")
        copied = await rig.messaging.rehost_media(part, media)
        assert isinstance(copied, File) and copied.name == "견적서.pdf"
        assert copied.helpdesk_ref in rig.freshchat.state.uploads_by_hash
        assert copied.mime_type == "application/pdf"


async def test_media_over_the_limit_is_refused_while_reading() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * 100

    async with BridgeRig() as rig:
        with pytest.raises(MediaTooLarge):
            await rig.messaging.rehost_media(
                File(url="mychat-file:1", name="big.bin"), MediaStream(chunks(), max_bytes=500)
            )
        assert rig.freshchat.state.uploads == {}


async def test_a_stalled_stream_is_retryable() -> None:
    async def stalled() -> AsyncIterator[bytes]:
        yield b"x"
        await asyncio.Event().wait()

    async with BridgeRig() as rig:
        messaging = FreshchatMessaging(
            api_url=rig.freshchat.api_url,
            token=rig.freshchat.token,
            webhook_public_key=rig.freshchat.public_key_text,
            http=rig.client(),
            media_timeout=0.05,
        )
        with pytest.raises(RetryableError, match="took longer than 0.05 s"):
            await messaging.rehost_media(
                File(url="mychat-file:1"), MediaStream(stalled(), max_bytes=500)
            )


async def test_a_help_desk_that_cannot_store_bytes_says_so() -> None:
    messaging: Messaging = RecordingMessaging()
    with pytest.raises(PermanentError, match="cannot store media"):
        await messaging.rehost_media(File(url="x:1"), MediaStream.from_bytes(b"x", max_bytes=1))
