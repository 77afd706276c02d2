"""What Viber (or a proxy in front of it) answers never puts the bot's token into an error.

Errors are logged, kept in dead letters and shown on the admin page and by
`byoc dead-letters`; a proxy that echoes request headers, or a Java exception text that quotes
them, must not carry the token there.
"""

from __future__ import annotations

import json

import httpx
import pytest

from byoc.errors import ByocError, PermanentError, RetryableError
from byoc_viber import ViberApi

TOKEN = "4453b6ac12345678-91011121314151617"


def api_answering(response: httpx.Response) -> tuple[ViberApi, httpx.AsyncClient]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: response))
    return ViberApi(token=TOKEN, http=http, base_url="https://chatapi.viber.test/pa"), http


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (
            httpx.Response(
                502, text=f"<html><title>Bad gateway</title>X-Viber-Auth-Token: {TOKEN}</html>"
            ),
            RetryableError,
        ),
        (httpx.Response(418, text=f"echo: {TOKEN}\n" * 50), PermanentError),
        (
            httpx.Response(
                200,
                content=json.dumps(
                    {"status": 3, "status_message": f"badData: token={TOKEN} invalid"}
                ).encode(),
            ),
            PermanentError,
        ),
    ],
)
async def test_an_answer_quoting_the_token_gives_an_error_without_it(
    response: httpx.Response, error: type[ByocError]
) -> None:
    api, http = api_answering(response)
    async with http:
        with pytest.raises(error) as caught:
            await api.call("send_message", {"receiver": "u1", "type": "text", "text": "hi"})
    text = str(caught.value)
    assert TOKEN not in text and "\n" not in text and len(text) < 700
