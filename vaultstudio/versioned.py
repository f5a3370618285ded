"""Per-process memos of what changes only with the shared version key (``policies.services.policy_version``).

Policy, role, binding, schema, vault and key changes all bump that key on commit, and every request
reads it once; a memo entry made under another version is never returned, so every worker sees a
change on its next request, as it would by reading the rows again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class VersionedMemo(Generic[T]):
    """``get(key, version, load)``: the value loaded under ``version``, or ``load()`` now.

    ``None`` (nothing found) is not kept: what is created later needs no version bump to be found.
    ``max_age`` (seconds) also reloads entries older than that: a backstop for state whose change
    must reach every worker even if its version bump is lost (Redis down at commit, a crash
    between commit and bump). Bounded: past ``max_entries`` the memo is emptied (it is refilled
    one request at a time). Values are shared between requests (and threads): read-only.
    """

    def __init__(self, max_entries: int = 4096, max_age: float | None = None) -> None:
        self._items: dict[Hashable, tuple[int, float, T]] = {}
        self._lock = threading.Lock()
        self._max = max_entries
        self._max_age = max_age

    def get(self, key: Hashable, version: int, load: Callable[[], T]) -> T:
        hit = self._items.get(key)
        now = time.monotonic()
        if hit is not None and hit[0] == version and (self._max_age is None or now - hit[1] < self._max_age):
            return hit[2]
        value = load()
        if value is None:
            return value
        with self._lock:
            if len(self._items) >= self._max:
                self._items.clear()
            self._items[key] = (version, now, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
