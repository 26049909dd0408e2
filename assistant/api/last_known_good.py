"""Kiosk checks that passed recently, consulted only while the database cannot be reached.

With the database up every request is checked against it (a revoked kiosk is refused at once). When it is down,
a kiosk and session that passed a check within `max_age` keep working, so an asker mid-session still gets
answers (the log goes to the spool); a kiosk never seen before gets the 503.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from typing import Any


class LastKnownGood:
    def __init__(self, max_age_seconds: float):
        self.max_age = max_age_seconds
        self._items: dict[Hashable, tuple[Any, float]] = {}
        self._lock = threading.Lock()

    def remember(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._items[key] = (value, time.monotonic())

    def forget(self, key: Hashable) -> None:
        with self._lock:
            self._items.pop(key, None)

    def recall(self, key: Hashable) -> Any | None:
        """The value remembered for `key` if it is younger than `max_age`, else None."""
        with self._lock:
            item = self._items.get(key)
        if item is None or time.monotonic() - item[1] > self.max_age:
            return None
        return item[0]
