"""Chatwoot's three identity levels, as the bridge maps a channel user onto them.

- **contact**: an account-scoped integer id, with a unique `identifier`. The bridge sets the
  identifier to the channel user's reference id (`viber:<user id>`) and uses the contact id as
  the help-desk user id.
- **contact_inbox**: the contact's session in one inbox, named by its `source_id` (unique in
  the inbox). The bridge uses the reference id as source id too, so the conversation that a
  webhook reports names its channel user in `contact_inbox.source_id`.
- **conversation**: an integer display id, created from a source id.

Today's `Messaging` contract hands `create_conversation` only the user id, so the source id of
each contact the bridge met is kept here (bounded): the steady state needs it never, a new user
has it from `create_user`, and only a restart costs one `GET /contacts/{id}` to find it again.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from ..errors import PermanentError
from ..messaging import HelpdeskUser

__all__ = ["SourceIds", "contact_user", "exact_contact", "inbox_source_id"]

JsonObject = dict[str, Any]


def contact_user(contact: JsonObject, what: str) -> HelpdeskUser:
    """The help-desk user of a contact record; `PermanentError` when it has no id."""
    ident = contact.get("id")
    if not isinstance(ident, int) or isinstance(ident, bool):
        raise PermanentError(f"Chatwoot {what} answered without a contact id")
    identifier = contact.get("identifier")
    return HelpdeskUser(
        id=str(ident),
        reference_id=identifier if isinstance(identifier, str) and identifier else None,
    )


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
        source_id = entry.get("source_id")
        if found == inbox_id and isinstance(source_id, str) and source_id:
            return source_id
    return None


class SourceIds:
    """contact id → its source id in the bridge's inbox, the most recent `limit` contacts."""

    def __init__(self, limit: int = 10_000) -> None:
        self._known: OrderedDict[str, str] = OrderedDict()
        self._limit = limit

    def get(self, contact_id: str) -> str | None:
        found = self._known.get(contact_id)
        if found is not None:
            self._known.move_to_end(contact_id)
        return found

    def remember(self, contact_id: str, source_id: str | None) -> None:
        if source_id is None:
            return
        self._known[contact_id] = source_id
        self._known.move_to_end(contact_id)
        while len(self._known) > self._limit:
            self._known.popitem(last=False)
