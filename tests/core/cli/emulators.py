"""The bundled emulators as a user starts them: `byoc emulate NAME` on a real port."""

from __future__ import annotations

import httpx

from .support import Running, clean_env, free_port, get_json


class FreshchatServer:
    """`byoc emulate freshchat` on a free port."""

    def __init__(self) -> None:
        self.process = Running("emulate", "freshchat", "--port", "0", "--log-level", "warning")
        self.api_url = self.process.wait_for(r"API URL:\s+(\S+)").group(1)
        self.base = self.api_url.removesuffix("/v2")
        self.token = self.process.wait_for(r"API token:\s+(\S+)").group(1)
        key = get_json(f"{self.base}/_emulator/public-key")
        assert isinstance(key, dict)
        self.public_key = str(key["public_key_text"])

    def settings(self, **more: str) -> dict[str, str]:
        """A subprocess environment pointing the bridge at this emulator."""
        settings = {
            "BYOC_FRESHCHAT_API_URL": self.api_url,
            "BYOC_FRESHCHAT_API_TOKEN": self.token,
            "BYOC_FRESHCHAT_WEBHOOK_PUBLIC_KEY": self.public_key,
        }
        return clean_env(**{**settings, **more})

    def stop(self) -> None:
        self.process.stop()


class ViberServer:
    """`byoc emulate viber` on a free port."""

    token = "4453b6ac12345678-e02c5f12174805f9-daec9cbb5448c51f"

    def __init__(self) -> None:
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.process = Running(
            "emulate",
            "viber",
            "--port",
            str(port),
            "--token",
            self.token,
            "--log-level",
            "warning",
        )
        self.process.wait_for(r"Viber emulator: API")
        self.api_url = f"{self.base}/pa"
        # The line is printed before uvicorn binds: wait until the API answers.
        from .support import poll

        poll(lambda: _answers(f"{self.base}/_emulator/webhook"))

    def webhook(self) -> object:
        answer = get_json(f"{self.base}/_emulator/webhook")
        assert isinstance(answer, dict)
        return answer["url"]

    def stop(self) -> None:
        self.process.stop()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.TransportError:
        return False
