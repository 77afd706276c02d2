"""`LinkCache`: the links a store read lately, kept in memory while nobody else can change them.

Every message looks its link up (by channel user, help-desk user or conversation) and links
change rarely (a new user, a new conversation, a resolution). A store whose file only this
process writes (`SQLiteStore` holds an exclusive lock on it) can answer those lookups from
memory and spare the worker-thread hop and the transaction around it.

```python
cache = LinkCache()
found, link = cache.get(("channel", "viber", "u1"))
if not found:
    generation = cache.generation
    link = await read_from_the_file()
    cache.put(("channel", "viber", "u1"), link, generation)
```

A save empties the cache (`invalidate`), before it runs and again once it ran: links are saved
seldom, and three lookups name each one, so keeping the others right costs more than rereading
them. A read that started before a save finished carries an older `generation` and is not
kept: it may have read the link the save replaced.
"""

from __future__ import annotations

from collections.abc import Hashable

from .base import UserLink

__all__ = ["LinkCache"]


class LinkCache:
    """Bounded memory of link lookups (`None` included: a user not linked yet)."""

    def __init__(self, size: int = 4096) -> None:
        if size < 1:
            raise ValueError(f"a LinkCache holds at least 1 entry, not {size}")
        self._size = size
        self._links: dict[Hashable, UserLink | None] = {}
        self.generation = 0

    def get(self, key: Hashable) -> tuple[bool, UserLink | None]:
        """`(True, link)` when `key` was read since the last save, else `(False, None)`."""
        try:
            return True, self._links[key]
        except KeyError:
            return False, None

    def put(self, key: Hashable, link: UserLink | None, generation: int) -> None:
        """Remember what a read that started at `generation` found, unless a save came since."""
        if generation != self.generation:
            return
        if len(self._links) >= self._size:
            # The oldest entry goes (dicts keep insertion order): cheap, and good enough for a
            # working set of recently active users.
            del self._links[next(iter(self._links))]
        self._links[key] = link

    def invalidate(self) -> None:
        """Forget everything: a link is being (or was) saved."""
        self.generation += 1
        self._links.clear()
