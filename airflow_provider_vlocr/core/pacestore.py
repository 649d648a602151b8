"""Where a pacer keeps the state its callers share: the request rate, the ceiling it may not pass, the next free
send slot and whether a stated quota window is spent.

:class:`LocalPaceStore` shares it between the threads of one process (the default). A store on a server every
worker reaches (:mod:`.redis_pacing`) shares it between all workers of a deployment, so that together they hold the
account's quota instead of each holding a static share of it. The pacer's judgement (is this 429 noise or a limit?)
stays with each caller; the store only applies its decisions atomically.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import NamedTuple, Protocol

MIN_RATE = 0.5  # requests per second: the slowest a pacer ever goes
MAX_RATE = 10_000.0  # effectively unlimited: a private endpoint or a large account needs no client cap


class PaceState(NamedTuple):
    """What a store holds, as of one operation."""

    rate: float  # requests per second paced now
    ceiling: float | None  # the most the rate may reach (a given or stated quota), None: unknown
    spent: bool  # a stated quota window is spent: one probe per ``probe`` seconds until a call passes
    sent_rate: float  # slots reserved in the last whole second (what callers actually send)
    cuts: int = 0  # cuts applied so far (a caller that sees a new one leaves slow start)
    found: float | None = None  # the limit a caller found (what got through when 429s showed it) ...
    found_age: float = math.inf  # ... this many seconds ago
    frozen: bool = False  # a cut is on trial: the rate does not grow until it is judged
    ok_rate: float = 0.0  # calls answered (not throttled) in the last second (sliding), by all callers


class PaceStore(Protocol):
    """Atomic operations on the shared pacing state. Every operation returns the state after it."""

    def reserve(self, probe_seconds: float) -> tuple[float, PaceState]:
        """Reserve the next send slot; returns the seconds to wait for it."""

    def state(self) -> PaceState: ...

    def scale(self, factor: float) -> PaceState:
        """Multiply the rate (clamped), ending a trial."""

    def lower(self, target: float, *, once_per: float, freeze: float = 0.0) -> tuple[bool, PaceState]:
        """Cut the rate to ``target`` unless a cut was applied within ``once_per`` seconds (one congestion event
        seen by many callers cuts once), and hold it there (no :meth:`add`) for up to ``freeze`` seconds while the
        cut is on trial. Returns whether it was applied."""

    def found(self, limit: float) -> PaceState:
        """Record the limit a caller found (0: none, the 429s were noise), ending a trial."""

    def add(self, delta: float, *, limit: float = math.inf) -> PaceState:
        """A call was answered (not throttled): count it, and add to the rate, up to ``limit`` and the ceiling
        (nothing while a cut is on trial)."""

    def cap(self, ceiling: float) -> PaceState:
        """Lower the ceiling to ``ceiling`` (never raise it) and the rate with it."""

    def spend(self, probe_seconds: float) -> PaceState:
        """A stated quota window is spent: push the next slot a probe interval out."""

    def reopen(self) -> PaceState:
        """A call passed: the window is open again."""


class LocalPaceStore:
    """The pacing state of one process, shared by its threads."""

    def __init__(
        self, rate: float, *, ceiling: float | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._ceiling = ceiling
        self._rate = self._clamp(rate)
        self._next = 0.0
        self._spent = False
        self._last_decrease = -math.inf
        self._cuts = 0
        self._found: float | None = None
        self._found_at = -math.inf
        self._frozen_until = -math.inf
        self._sends = _PerSecond()
        self._oks: deque[float] = deque()  # when each call of the last second was answered
        self._born = clock()

    def _clamp(self, rate: float) -> float:
        return max(MIN_RATE, min(rate, self._ceiling or MAX_RATE))

    def _state(self, now: float) -> PaceState:
        while self._oks and self._oks[0] <= now - 1.0:
            self._oks.popleft()
        sent, oks = self._sends.last(now), len(self._oks) / min(1.0, max(now - self._born, 0.05))
        found_age, frozen = now - self._found_at, now < self._frozen_until
        return PaceState(self._rate, self._ceiling, self._spent, sent, self._cuts, self._found, found_age, frozen, oks)

    def reserve(self, probe_seconds: float) -> tuple[float, PaceState]:
        with self._lock:
            now = self._clock()
            interval = max(1.0 / self._rate, probe_seconds) if self._spent else 1.0 / self._rate
            slot = max(now, self._next)
            self._next = slot + interval
            self._sends.count(now)
            return slot - now, self._state(now)

    def state(self) -> PaceState:
        with self._lock:
            return self._state(self._clock())

    def scale(self, factor: float) -> PaceState:
        with self._lock:
            self._rate = self._clamp(self._rate * factor)
            self._frozen_until = -math.inf
            return self._state(self._clock())

    def lower(self, target: float, *, once_per: float, freeze: float = 0.0) -> tuple[bool, PaceState]:
        with self._lock:
            now = self._clock()
            if now - self._last_decrease < once_per:
                return False, self._state(now)
            self._last_decrease = now
            self._cuts += 1
            self._rate = self._clamp(min(self._rate, target))
            self._frozen_until = now + freeze
            return True, self._state(now)

    def found(self, limit: float) -> PaceState:
        with self._lock:
            now = self._clock()
            self._found, self._found_at = (limit, now) if limit > 0 else (None, -math.inf)
            self._frozen_until = -math.inf
            return self._state(now)

    def add(self, delta: float, *, limit: float = math.inf) -> PaceState:
        with self._lock:
            now = self._clock()
            self._oks.append(now)
            if now >= self._frozen_until:
                self._rate = self._clamp(min(self._rate + delta, max(limit, self._rate)))
            return self._state(now)

    def cap(self, ceiling: float) -> PaceState:
        with self._lock:
            self._ceiling = min(self._ceiling or ceiling, ceiling)
            self._rate = self._clamp(self._rate)
            return self._state(self._clock())

    def spend(self, probe_seconds: float) -> PaceState:
        with self._lock:
            now = self._clock()
            self._spent = True
            self._next = max(self._next, now + probe_seconds)
            return self._state(now)

    def reopen(self) -> PaceState:
        with self._lock:
            self._spent = False
            return self._state(self._clock())


class _PerSecond:
    """Events counted per whole second: the count of the last whole second is a rate."""

    def __init__(self) -> None:
        self._second = 0
        self._this = 0
        self._previous = 0

    def count(self, now: float) -> None:
        second = int(now)
        if second != self._second:
            self._previous = self._this if second == self._second + 1 else 0
            self._this, self._second = 0, second
        self._this += 1

    def last(self, now: float) -> float:
        second = int(now)
        return float(self._previous if second == self._second else self._this if second == self._second + 1 else 0)
