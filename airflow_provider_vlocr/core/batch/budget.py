"""A cap on billed calls that holds across threads and tries: a call reserves a unit before it is sent."""

from __future__ import annotations

import threading


class CallBudget:
    """At most ``limit`` billed calls, counting ``spent`` by earlier tries; thread-safe.

    :meth:`reserve` before sending (``False``: the budget is spent, do not send), then :meth:`commit` when the
    call was answered (billed) or :meth:`release` when it failed (not billed).
    """

    def __init__(self, limit: int, spent: int = 0) -> None:
        self.limit = limit
        self.spent = spent
        self._reserved = 0
        self._lock = threading.Lock()

    def reserve(self) -> bool:
        with self._lock:
            if self.spent + self._reserved >= self.limit:
                return False
            self._reserved += 1
            return True

    def commit(self) -> None:
        with self._lock:
            self._reserved -= 1
            self.spent += 1

    def release(self) -> None:
        with self._lock:
            self._reserved -= 1
