"""Keeping secrets out of logs, error messages and pages.

The tools:

- `Secret` wraps a credential so that printing, logging or `repr`-ing it shows `'********'`;
  only `reveal()` gives the value, at the one place that sends it (an HTTP header).
- `Redactor` knows the secret values of a configuration and blanks them out of any text.
  `RedactingFormatter` runs it over every formatted log line (tracebacks included), so a token
  that slips into an exception message or a URL in an access log is still never written out;
  only a line logged with `extra=SECRET_FREE` (made of ids and counts alone: the hop lines)
  is written without the search.
- `scrub` blanks out credentials no configuration names: the password of a URL, credential
  query parameters (`?token=`, `&sig=`), bearer tokens, auth headers quoted back by a peer.
  Error texts built from what a peer answered go through it (`byoc.upstream.answer_text`).
- `displayable` is the one pass over text that came from upstream before a page or a command
  shows it (the admin page, `byoc dead-letters`): `scrub`, plus the credentials of the
  settings this process built its bridge from (`remember_secrets`, which `build_bridge` calls).

```python
token = Secret("0123456789abcdef")
print(f"token={token}")                    # token=********
redactor = Redactor([token.reveal()])
redactor.redact("GET /hook/0123456789abcdef")   # 'GET /hook/********'
scrub("https://user:pw@cdn.test/a.jpg?sig=abc")  # 'https://********@cdn.test/a.jpg?sig=********'
```
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

import attrs

__all__ = [
    "MASK",
    "SECRET_FREE",
    "RedactingFormatter",
    "Redactor",
    "Secret",
    "displayable",
    "install_redaction",
    "is_secret_setting",
    "remember_secrets",
    "scrub",
]

MASK = "********"

# Values shorter than this are not searched for: blanking out every "a" in a log line would
# hide more than it protects. Real tokens are far longer.
_MIN_SECRET_LENGTH = 6

_SECRET_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSWD|PRIVATE|API_KEY|SENDER_KEY)")

_SECRET_FREE_ATTRIBUTE = "byoc_secret_free"

SECRET_FREE: Final[Mapping[str, object]] = MappingProxyType({_SECRET_FREE_ATTRIBUTE: True})
"""`extra=` of a log call whose message cannot hold a credential (ids, counts, outcomes):
`RedactingFormatter` writes it without searching it. Never for a message with free text
(an error, a URL) in it."""
# Credentials recognisable by their place, whatever their value:
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s@]+@")
_CREDENTIAL_PARAM = re.compile(
    r"(?i)([?&;](?:access_?token|auth|token|api_?key|key|secret|client_secret|password|pass|"
    r"sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token|"
    r"x-goog-signature|x-goog-credential|code)=)[^&#\s\"'<>]+"
)
_SCHEME_TOKEN = re.compile(r"(?i)\b(bearer|basic)\s+(?!\*{8})[A-Za-z0-9._~+/=-]{6,}")
_AUTH_HEADER = re.compile(
    r"(?i)\b((?:x-viber-auth-token|ht-client-secret|x-skill-secret|authorization|"
    r"api_access_token|x-api-key)[\"']?\s*[:=]\s*[\"']?(?:(?:bearer|basic|kakaoak)\s+)?)"
    r"(?!\*{8})(?!(?:bearer|basic|kakaoak)\s)[^\s\"',;}]+"
)
# `name=value` where the name says credential, in texts like "InvalidSender(senderKey=...)".
_CREDENTIAL_FIELD = re.compile(
    r"(?i)\b((?:sender_?key|client_?secret|access_?token|auth_?token|api_?key|secret_?key|"
    r"password)[\"']?\s*[=:]\s*[\"']?)(?!\*{8})[A-Za-z0-9._~+/-]{6,}"
)
# A Telegram bot token is a path segment: https://api.telegram.org/bot<id>:<secret>/...
_BOT_PATH = re.compile(r"/bot[0-9]+:[A-Za-z0-9_-]+")


def is_secret_setting(name: str) -> bool:
    """Whether a setting (`BYOC_VIBER_AUTH_TOKEN`, ...) holds a credential, judged by its name.

    Names holding TOKEN, SECRET, PASSWORD, PRIVATE, API_KEY or SENDER_KEY are secret; a
    webhook *public* key is not.
    """
    return _SECRET_NAME.search(name.upper()) is not None


@attrs.frozen(repr=False)
class Secret:
    """A credential that does not show itself: `str()`, `repr()` and f-strings give a mask."""

    _value: str

    def reveal(self) -> str:
        """The value itself, for the one place that must send it."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"


class Redactor:
    """Replaces known secret values in text with `MASK`, longest first."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        self._pattern: re.Pattern[str] | None = None
        self.add(secrets)

    @classmethod
    def from_settings(cls, settings: Mapping[str, str]) -> Redactor:
        """A redactor for every value whose setting name says it is a credential."""
        return cls(value for name, value in settings.items() if is_secret_setting(name))

    def add(self, secrets: Iterable[str]) -> None:
        """Also redact these values."""
        known = set(self._secrets)
        for value in secrets:
            value = value.strip()
            if len(value) >= _MIN_SECRET_LENGTH and value not in known:
                known.add(value)
                self._secrets.append(value)
        self._secrets.sort(key=len, reverse=True)
        self._pattern = (
            re.compile("|".join(re.escape(s) for s in self._secrets)) if self._secrets else None
        )

    def redact(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(MASK, text)


def scrub(text: str) -> str:
    """`text` with the credentials recognisable by their place blanked out: a URL's
    `user:password@`, credential query parameters, `Bearer`/`Basic` tokens, auth headers."""
    text = _URL_USERINFO.sub(lambda m: f"{m.group(1)}{MASK}@", text)
    text = _CREDENTIAL_PARAM.sub(lambda m: f"{m.group(1)}{MASK}", text)
    text = _BOT_PATH.sub(f"/bot{MASK}", text)
    text = _AUTH_HEADER.sub(lambda m: f"{m.group(1)}{MASK}", text)
    text = _SCHEME_TOKEN.sub(lambda m: f"{m.group(1)} {MASK}", text)
    return _CREDENTIAL_FIELD.sub(lambda m: f"{m.group(1)}{MASK}", text)


# The credentials of the settings bridges in this process were built from: a page shows what
# the store keeps, which was written before any redaction the current code does at the source.
_REMEMBERED = Redactor()


def remember_secrets(settings: Mapping[str, str]) -> None:
    """Blank out these settings' credentials in everything `displayable` passes from now on
    (`build_bridge` calls it; a bridge built by hand may too)."""
    _REMEMBERED.add(value for name, value in settings.items() if is_secret_setting(name))


def displayable(text: str, redactor: Redactor | None = None) -> str:
    """`text` from upstream or from the store, as a page or a command may show it: without the
    remembered secrets, those of `redactor`, or any credential `scrub` recognises."""
    text = _REMEMBERED.redact(text)
    if redactor is not None:
        text = redactor.redact(text)
    return scrub(text)


class RedactingFormatter(logging.Formatter):
    """A log formatter whose output never holds the redactor's secrets.

    It also formats each second's time stamp once rather than once per line, and a line
    without a traceback in one `%` operation (see `format`).
    """

    def __init__(self, redactor: Redactor, fmt: str | None = None) -> None:
        super().__init__(fmt)
        self.redactor = redactor
        self._second = -1
        self._stamp = ""
        self._uses_time = self.usesTime()
        self._template: str = self._fmt or "%(message)s"

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        second = int(record.created)
        if second != self._second:
            self._stamp = time.strftime(self.default_time_format, self.converter(second))
            self._second = second
        return f"{self._stamp},{int(record.msecs):03d}"

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info or record.exc_text or record.stack_info:
            text = super().format(record)
        else:
            # What `Formatter.format` does for such a line, without its calls through the
            # style object: a quarter of its cost, paid by two hop lines a message.
            record.message = record.getMessage()
            if self._uses_time:
                record.asctime = self.formatTime(record)
            text = self._template % record.__dict__
        if getattr(record, _SECRET_FREE_ATTRIBUTE, False) and not record.exc_info:
            return text
        return self.redactor.redact(text)


def install_redaction(redactor: Redactor, fmt: str | None = None) -> None:
    """Make every handler of the root logger redact (call after logging is configured)."""
    for handler in logging.getLogger().handlers:
        handler.setFormatter(RedactingFormatter(redactor, fmt))
