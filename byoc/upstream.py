"""What an upstream API's answer means for delivery: one mapping from HTTP to byoc's errors.

Every plugin calls its messenger's HTTP API, and the core calls the help desk's; what a status
means for the delivery queue is the same for all of them, so it is decided here, once:

| answer | error | the queue |
|---|---|---|
| 2xx | none | done |
| 429 | `RateLimited`, `retry_after` from `Retry-After` | retries after the hint |
| 408, 5xx | `RetryableError`, `retry_after` when given | retries with backoff |
| 401, 403 (with `credentials=`) | `ConfigurationError` naming the fix | retries, loudly |
| any other 3xx or 4xx | `PermanentError` | a dead letter at once |
| a timeout, a connection error | `RetryableError` | retries with backoff |
| not an http(s) URL | `ConfigurationError` naming the URL setting | retries, loudly |

`Retry-After` is read in both of its forms: delta-seconds (`120`) and an HTTP date
(`Wed, 21 Oct 2015 07:28:00 GMT`). `json_object` reads the JSON object of a 2xx answer, and
`summary` makes one readable line of a body that is not JSON (an HTML error page), for error
texts.

```python
with transport_errors("MyChat send", url_setting="BYOC_MYCHAT_API_URL"):
    response = await http.post(url, json=body)
raise_for_status(response, f"MyChat send answered HTTP {response.status_code}",
                 credentials="check BYOC_MYCHAT_TOKEN")
```

A channel with its own error vocabulary (Viber answers 200 with a `status`, Telegram a
`retry_after` in the body) reads that first and hands the rest to `error_for_status`.

Error texts end up in logs, dead letters and on the admin page, so none may carry a
credential: quote what a peer answered through `answer_text(said, secrets=...)` (one short
line, the client's own credentials and any recognisable one blanked out), and every message
made here is passed through `byoc.redaction.scrub`.
"""

from __future__ import annotations

import email.utils
import html
import json
import math
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import timezone
from typing import Any

import httpx

from .errors import ByocError, ConfigurationError, PermanentError, RateLimited, RetryableError
from .redaction import Redactor, scrub

__all__ = [
    "answer_text",
    "error_for_status",
    "json_object",
    "parse_retry_after",
    "raise_for_status",
    "raise_unless_refusal",
    "retry_after_of",
    "summary",
    "transport_errors",
]

_DELTA_SECONDS = re.compile(r"^\d+(\.\d+)?$")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def answer_text(said: str, *, secrets: Iterable[str] = (), limit: int = 200) -> str:
    """What a peer said, fit to quote in an error: one line of at most `limit` characters,
    without `secrets` (the caller's own credentials, which a peer may echo back) or any
    credential `scrub` recognises.

    ```python
    raise PermanentError(f"Viber refused: {answer_text(response.text, secrets=[token])}")
    ```
    """
    # Blank out before cutting: a cut through a secret would leave half of it to be shown.
    head = said[: 4 * limit + 4096]
    line = " ".join(scrub(Redactor(secrets).redact(head)).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` value: delta-seconds or an HTTP date.

    None when absent or unreadable; a date in the past means "now" (0.0). `now` is the current
    Unix time (default: the system clock), which an HTTP date is measured against.
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    if _DELTA_SECONDS.match(value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    seconds = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, seconds) if math.isfinite(seconds) else None


def retry_after_of(response: httpx.Response, *, now: float | None = None) -> float | None:
    """The `Retry-After` hint of `response`, in seconds (see `parse_retry_after`)."""
    return parse_retry_after(response.headers.get("retry-after"), now=now)


def error_for_status(
    status: int,
    message: str,
    *,
    retry_after: float | None = None,
    credentials: str | None = None,
) -> ByocError | None:
    """The error an HTTP `status` means, or None for a 2xx.

    `message` says who answered what ("Viber send_message answered HTTP 503: ..."); it becomes
    the error's text. `credentials` names the fix for a refused credential ("check
    BYOC_VIBER_AUTH_TOKEN"): with it, 401 and 403 are a `ConfigurationError`; without it (a
    messenger that answers 403 for a user who blocked the bot), a `PermanentError`.
    """
    if 200 <= status < 300:
        return None
    message = scrub(message)
    if status == 429:
        return RateLimited(message, retry_after=retry_after)
    if status == 408 or status >= 500:
        return RetryableError(message, retry_after=retry_after)
    if status in (401, 403) and credentials:
        return ConfigurationError(f"{message}; {credentials}")
    return PermanentError(message)


def raise_for_status(
    response: httpx.Response, message: str, *, credentials: str | None = None
) -> None:
    """Raise what `response`'s status means (see `error_for_status`); nothing for a 2xx."""
    error = error_for_status(
        response.status_code,
        message,
        retry_after=retry_after_of(response),
        credentials=credentials,
    )
    if error is not None:
        raise error


def raise_unless_refusal(
    response: httpx.Response, message: str, *, credentials: str, url_help: str
) -> None:
    """Raise what `response` means, except for a 2xx or a 4xx refusal the caller reads itself.

    For a client whose API words its refusals its own way (a stale conversation, a taken
    identifier): 401 and 403 are a `ConfigurationError` naming `credentials`; 408, 429 and 5xx
    are retried (see `error_for_status`); a redirect means the URL setting is wrong (an API
    answers where it is asked), a `ConfigurationError` naming `url_help`.
    """
    code = response.status_code
    if 300 <= code < 400:
        location = response.headers.get("location", "elsewhere")
        raise ConfigurationError(f"{message} (a redirect to {location}); {url_help}")
    if code in (401, 403, 408, 429) or code >= 500:
        raise_for_status(response, message, credentials=credentials)


@contextmanager
def transport_errors(
    what: str, *, url_setting: str | None = None, timeout: float | None = None
) -> Iterator[None]:
    """Turn httpx's failures to get an answer inside the block into byoc's errors.

    Timeouts and connection errors become `RetryableError`; a URL that is not http(s), a
    `ConfigurationError` naming `url_setting`. `timeout` (seconds), when given, is named in
    the text of a timeout. The text never quotes the URL: some APIs carry a token in it
    (Telegram's path, signed media links).
    """
    try:
        yield
    except httpx.TimeoutException as exc:
        after = f" after {timeout:g} s" if timeout is not None else ""
        raise RetryableError(f"{what} timed out{after} ({type(exc).__name__})") from None
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        fix = f"; check {url_setting}" if url_setting else ""
        raise ConfigurationError(
            f"{what}: not an http(s) URL ({answer_text(str(exc))}){fix}"
        ) from None
    except httpx.ConnectError as exc:
        raise RetryableError(f"{what} failed to connect ({answer_text(str(exc))})") from None
    except httpx.TransportError as exc:
        said = answer_text(str(exc))
        raise RetryableError(f"{what} failed: {type(exc).__name__}: {said}") from None


def json_object(response: httpx.Response, *, what: str) -> dict[str, Any]:
    """The JSON object a 2xx `response` carries (`{}` for no body); `what` names the call.

    The call succeeded, so a body that cannot be read is a `PermanentError` for a person to look
    at, never a retry: a POST would be repeated.
    """
    if not response.content.strip():
        return {}
    try:
        payload = json.loads(response.content)
    except (ValueError, RecursionError) as exc:
        text = response.content.decode("utf-8", errors="replace")
        raise PermanentError(
            f"{what} answered {response.status_code} with a body that is not JSON: {summary(text)}"
        ) from exc
    if not isinstance(payload, dict):
        raise PermanentError(
            f"{what} answered {response.status_code} with JSON {type(payload).__name__}, "
            "not an object"
        )
    return payload


def summary(text: str, limit: int = 200) -> str:
    """One readable line from a body that is not JSON: an HTML page's title, else its text."""
    title = _TITLE.search(text)
    plain = title.group(1) if title else _TAG.sub(" ", _SCRIPT.sub(" ", text))
    line = " ".join(html.unescape(plain).split())
    if not line:
        return "(empty body)"
    return line if len(line) <= limit else line[: limit - 1] + "…"
