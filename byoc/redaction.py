"""Keeping secrets out of logs, error messages and pages.

Two tools:

- `Secret` wraps a credential so that printing, logging or `repr`-ing it shows `'********'`;
  only `reveal()` gives the value, at the one place that sends it (an HTTP header).
- `Redactor` knows the secret values of a configuration and blanks them out of any text.
  `RedactingFormatter` runs it over every formatted log line (tracebacks included), so a token
  that slips into an exception message or a URL in an access log is still never written out;
  only a line logged with `extra=SECRET_FREE` (made of ids and counts alone: the hop lines)
  is written without the search.

```python
token = Secret("0123456789abcdef")
print(f"token={token}")                    # token=********
redactor = Redactor([token.reveal()])
redactor.redact("GET /hook/0123456789abcdef")   # 'GET /hook/********'
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
    "install_redaction",
    "is_secret_setting",
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


class RedactingFormatter(logging.Formatter):
    """A log formatter whose output never holds the redactor's secrets.

    It also formats each second's time stamp once rather than once per line.
    """

    def __init__(self, redactor: Redactor, fmt: str | None = None) -> None:
        super().__init__(fmt)
        self.redactor = redactor
        self._second = -1
        self._stamp = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        second = int(record.created)
        if second != self._second:
            self._stamp = time.strftime(self.default_time_format, self.converter(second))
            self._second = second
        return f"{self._stamp},{int(record.msecs):03d}"

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if getattr(record, _SECRET_FREE_ATTRIBUTE, False) and not record.exc_info:
            return text
        return self.redactor.redact(text)


def install_redaction(redactor: Redactor, fmt: str | None = None) -> None:
    """Make every handler of the root logger redact (call after logging is configured)."""
    for handler in logging.getLogger().handlers:
        handler.setFormatter(RedactingFormatter(redactor, fmt))
