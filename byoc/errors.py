"""One error hierarchy; each class says what the caller should do.

```
ByocError
├── RequestError            bad input on an inbound webhook; carries the HTTP status to answer
│   ├── SignatureError      401: the signature (or secret) does not verify
│   ├── StaleWebhook        401: signed, but sent outside its freshness window (a replay?)
│   ├── MalformedPayload    400: the body cannot be understood; retrying it will not help
│   ├── NotFound            404: no such route or channel
│   └── PayloadTooLarge     413: the body is over the configured limit
├── DeliveryError           a call to the help desk or to a channel failed
│   ├── RetryableError      try again later (`retry_after` seconds when the peer said so)
│   │   └── RateLimited     the peer answered 429 (or the channel's equivalent)
│   └── PermanentError      do not retry: the peer refused this message for good
│       ├── StaleConversation   the help desk will not take messages in that conversation any more
│       ├── UnknownUser         the help desk no longer knows that user (deleted there)
│       ├── UserUnreachable     the user unsubscribed, blocked the account or is gone
│       └── MediaTooLarge       a file is over the size the bridge or the help desk takes
├── ConfigurationError      a setting or credential is wrong; the message names the fix
└── PluginError             a channel plugin failed to load or misbehaved
```

The HTTP layer maps these classes to status codes in one place (`byoc.http`).
"""

from __future__ import annotations

__all__ = [
    "ByocError",
    "ConfigurationError",
    "DeliveryError",
    "MalformedPayload",
    "MediaTooLarge",
    "NotFound",
    "PayloadTooLarge",
    "PermanentError",
    "PluginError",
    "RateLimited",
    "RequestError",
    "RetryableError",
    "SignatureError",
    "StaleConversation",
    "StaleWebhook",
    "UnknownUser",
    "UserUnreachable",
]


class ByocError(Exception):
    """Root of every error byoc raises on purpose."""


class RequestError(ByocError):
    """An inbound request that byoc refuses; `status_code` is the HTTP answer."""

    status_code = 400


class SignatureError(RequestError):
    """The request's signature or secret does not verify (HTTP 401)."""

    status_code = 401


class StaleWebhook(RequestError):
    """A webhook whose signature may verify, but whose own time is outside the window its
    sender's retries need (HTTP 401): a replay of a captured request, or a clock that is off.

    Unlike a `SignatureError`, its message names no setting and no key, so the sender is told
    why (the time it was sent, and the window).
    """

    status_code = 401


class MalformedPayload(RequestError):
    """The request body is not what the sender's API documents (HTTP 400)."""

    status_code = 400


class NotFound(RequestError):
    """No route, or no channel by that name (HTTP 404)."""

    status_code = 404


class PayloadTooLarge(RequestError):
    """The body is over the bridge's limit (HTTP 413)."""

    status_code = 413


class DeliveryError(ByocError):
    """A call to a peer (help desk or channel) failed."""


class RetryableError(DeliveryError):
    """The call may succeed later; `retry_after` is the peer's hint in seconds, if any."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(RetryableError):
    """The peer throttled us (HTTP 429 or the channel's equivalent)."""


class PermanentError(DeliveryError):
    """The peer refused this message for good; retrying the same request will not help."""


class StaleConversation(PermanentError):
    """The help desk refuses new messages in this conversation ("not the latest conversation")."""

    def __init__(self, message: str, *, conversation_id: str) -> None:
        super().__init__(message)
        self.conversation_id = conversation_id


class UnknownUser(PermanentError):
    """The help desk does not know this user any more (an agent or an administrator deleted
    it). The bridge forgets its link and makes the user again with the message at hand."""

    def __init__(self, message: str, *, user_id: str) -> None:
        super().__init__(message)
        self.user_id = user_id


class UserUnreachable(PermanentError):
    """The channel cannot reach this user: they unsubscribed, blocked the account or left the
    messenger. Nothing sent to them gets through until they write again, so the bridge stops
    retrying at once."""

    def __init__(self, message: str, *, user_id: str | None = None) -> None:
        super().__init__(message)
        self.user_id = user_id


class MediaTooLarge(PermanentError):
    """A file is larger than `limit` bytes (`size` is what was declared or read so far)."""

    def __init__(self, what: str, *, size: int, limit: int) -> None:
        super().__init__(f"{what} is over the {_megabytes(limit)} limit for attachments")
        self.size = size
        self.limit = limit


def _megabytes(count: int) -> str:
    return f"{count / 1_048_576:.3g} MB"


class ConfigurationError(ByocError):
    """A setting or credential is missing or wrong; the message says how to fix it."""


class PluginError(ByocError):
    """A channel plugin could not be loaded or broke its contract."""

    def __init__(self, plugin: str, message: str) -> None:
        super().__init__(f"channel plugin {plugin!r}: {message}")
        self.plugin = plugin
