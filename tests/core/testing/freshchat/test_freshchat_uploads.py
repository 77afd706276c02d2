"""Image and file uploads: multipart parsing, responses, public URLs, fileHash parts."""

from __future__ import annotations

import struct
import zlib

import httpx
import pytest
from freshchat_doubles import Receiver, Steps

from byoc.testing.freshchat import FreshchatEmulator


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = b"".join(b"\x00" + b"\x00\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"


async def test_image_upload_returns_the_image_response_with_a_public_url(
    api: httpx.AsyncClient, emulator: FreshchatEmulator
) -> None:
    data = png(3, 2)
    response = await api.post("/images/upload", files={"image": ("photo.png", data, "image/png")})
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "photo.png" and body["content_type"] == "image/png"
    assert (body["width"], body["height"]) == (3, 2)
    assert body["url"].startswith("http://freshchat.test/_emulator/files/")
    assert body["thumbnail"]["url"] == body["url"]
    async with emulator.client() as anonymous:
        served = await anonymous.get(body["url"])
    assert served.status_code == 200
    assert served.content == data and served.headers["content-type"] == "image/png"


@pytest.mark.parametrize(
    ("data", "content_type", "size"),
    [
        (jpeg(640, 480), "image/jpeg", (640, 480)),
        (b"GIF89a" + struct.pack("<HH", 7, 9) + b"\x00" * 10, "image/gif", (7, 9)),
        (b"RIFF....WEBPVP8 ", "image/webp", (None, None)),
    ],
)
async def test_image_types_and_sizes(
    api: httpx.AsyncClient, data: bytes, content_type: str, size: tuple[int, int]
) -> None:
    # Sent as octet-stream: the emulator recognises images by their bytes, as the service does.
    declared = "application/octet-stream" if content_type != "image/webp" else "image/webp"
    response = await api.post("/images/upload", files={"image": ("x", data, declared)})
    assert response.status_code == 200, response.text
    assert response.json()["content_type"] == content_type
    assert (response.json()["width"], response.json()["height"]) == size


@pytest.mark.parametrize(
    ("files", "status"),
    [
        ({"image": ("a.txt", b"plain words", "text/plain")}, 400),
        ({"picture": ("a.png", png(1, 1), "image/png")}, 400),
    ],
)
async def test_image_upload_refusals(
    api: httpx.AsyncClient, files: dict[str, tuple[str, bytes, str]], status: int
) -> None:
    response = await api.post("/images/upload", files=files)
    assert response.status_code == status
    assert response.json()["code"] == status


async def test_uploads_need_a_multipart_body(api: httpx.AsyncClient) -> None:
    response = await api.post("/files/upload", json={"file": "x"})
    assert response.status_code == 400 and response.json()["status"] == "BAD_REQUEST"
    broken = await api.post(
        "/files/upload",
        content=b"--b\r\nno headers at all",
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert broken.status_code == 400


async def test_file_upload_and_a_message_naming_its_hash(
    api: httpx.AsyncClient, steps: Steps, emulator: FreshchatEmulator, receiver: Receiver
) -> None:
    data = "계약서 contents".encode() * 100
    upload = await api.post(
        "/files/upload", files={"file": ("계약서.pdf", data, "application/pdf")}
    )
    assert upload.status_code == 200
    info = upload.json()
    assert info == {
        "file_name": "계약서.pdf",
        "file_size": len(data),
        "file_content_type": "application/pdf",
        "file_extension_type": "pdf",
        "file_hash": info["file_hash"],
        "file_security_status": "SAFE_FILE",
    }

    user_id = await steps.user()
    conversation_id = await steps.conversation(user_id)
    part = {
        "file": {
            "fileHash": info["file_hash"],
            "fileSource": "FRESHCHAT",
            "name": "contract.pdf",
            "contentType": "application/pdf",
        }
    }
    response = await api.post(
        f"/conversations/{conversation_id}/messages",
        json={"message_parts": [part], "actor_type": "user", "actor_id": user_id},
    )
    assert response.status_code == 200
    stored = response.json()["message_parts"][0]["file"]
    assert stored["fileHash"] == info["file_hash"] and stored["name"] == "contract.pdf"
    assert stored["file_size_in_bytes"] == len(data)
    async with emulator.client() as anonymous:
        assert (await anonymous.get(stored["url"])).content == data
    await emulator.drain()
    delivered = receiver.payloads("message_create")[-1]["data"]["message"]
    assert delivered["message_parts"][0]["file"]["url"] == stored["url"]


async def test_an_unknown_file_hash_is_refused(api: httpx.AsyncClient, steps: Steps) -> None:
    user_id = await steps.user()
    conversation_id = await steps.conversation(user_id)
    response = await api.post(
        f"/conversations/{conversation_id}/messages",
        json={
            "message_parts": [{"file": {"file_hash": "0" * 64}}],
            "actor_type": "user",
            "actor_id": user_id,
        },
    )
    assert response.status_code == 400 and "hash" in response.json()["message"]


async def test_unknown_files_are_404(emulator: FreshchatEmulator) -> None:
    async with emulator.client() as anonymous:
        response = await anonymous.get("http://freshchat.test/_emulator/files/nope")
    assert response.status_code == 404
