"""Chatwoot's three identity levels, and the user id that carries the two the bridge posts with.

- **contact**: an account-scoped integer id, with a unique `identifier`. The bridge sets the
  identifier to the channel user's reference id (`viber:<user id>`).
- **contact_inbox**: the contact's session in one inbox, named by its `source_id` (unique in
  the inbox). The bridge uses the reference id as source id too.
- **conversation**: an integer display id, created from a contact id and a source id.

Starting a conversation takes both the contact id and the source id, so the help-desk user id
the bridge keeps carries both: `"<contact id>:<source id>"` (`42:viber:jc9HsWTZ2Yf2NkRZ8KcNug==`).
Nothing has to be looked up again after a restart, and a webhook, whose conversation names its
`contact_inbox`, spells the same id. A bare contact id (`"42"`) is read too: the source id is
then looked up with the contact.
"""

from __future__ import annotations

from typing import Any

import attrs

from ..errors import PermanentError
from ..messaging import HelpdeskUser

__all__ = [
    "MAX_SOURCE_ID",
    "UserId",
    "contact_user",
    "exact_contact",
    "inbox_source_id",
]

JsonObject = dict[str, Any]

MAX_SOURCE_ID = 255
"""The longest source id or identifier the bridge keeps (a channel's user id is far shorter)."""


@attrs.frozen(kw_only=True)
class UserId:
    """A Chatwoot user id as the bridge spells it: the contact, and its source id when known."""

    contact_id: int
    source_id: str | None = None

    def __str__(self) -> str:
        if self.source_id is None:
            return str(self.contact_id)
        return f"{self.contact_id}:{self.source_id}"

    @classmethod
    def parse(cls, user_id: str) -> UserId:
        """Read an id this module made; `PermanentError` for anything else."""
        contact, _, source = user_id.partition(":")
        if not (contact.isascii() and contact.isdigit()) or len(contact) > 19:
            raise PermanentError(f"{user_id[:60]!r} is not a Chatwoot user id")
        return cls(contact_id=int(contact), source_id=source or None)


def contact_user(
    contact: JsonObject, what: str, *, inbox_id: int, source_id: str | None = None
) -> HelpdeskUser:
    """The help-desk user of a contact record; `PermanentError` when it has no id.

    Its source id is `source_id` when given (the session just made), else the contact's session
    in `inbox_id`, else its identifier (the session `create_conversation` will make).
    """
    ident = contact.get("id")
    if not isinstance(ident, int) or isinstance(ident, bool) or ident < 0:
        raise PermanentError(f"Chatwoot {what} answered without a contact id")
    identifier = _bounded(contact.get("identifier"))
    source = _bounded(source_id) or inbox_source_id(contact, inbox_id) or identifier
    return HelpdeskUser(id=str(UserId(contact_id=ident, source_id=source)), reference_id=identifier)


def exact_contact(contacts: object, reference_id: str) -> JsonObject | None:
    """The contact whose identifier is exactly `reference_id` among filter or search results.

    Chatwoot's filter compares identifiers ignoring case (base64 user ids differ by case only)
    and its search matches them as substrings (`viber:ab` finds `viber:abc`).
    """
    for contact in contacts if isinstance(contacts, list) else []:
        if isinstance(contact, dict) and contact.get("identifier") == reference_id:
            return contact
    return None


def inbox_source_id(contact: JsonObject, inbox_id: int) -> str | None:
    """The contact's source id in `inbox_id`, from its `contact_inboxes`, if it has one."""
    entries = contact.get("contact_inboxes")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        inbox = entry.get("inbox")
        found = inbox.get("id") if isinstance(inbox, dict) else entry.get("inbox_id")
        source_id = _bounded(entry.get("source_id"))
        if found == inbox_id and source_id:
            return source_id
    return None


def _bounded(value: object) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= MAX_SOURCE_ID else None
