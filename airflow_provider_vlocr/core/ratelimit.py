"""Client-side pacing shared by all threads of a hook: a request rate that adapts to 429s, and the concurrency
that rate needs.

* With ``max_requests_per_second`` the rate never exceeds it (and still backs off on 429s).
* Without it the quota is unknown (Huawei's is "dynamically adjusted"): the rate starts low, doubles every second
  while calls succeed (slow start), and after the first 429 moves additively up and multiplicatively down (AIMD),
  as the adaptive retry mode of the big cloud SDKs does, so a batch settles just under the real quota.
* Concurrency, unless given, follows Little's law: rate × observed latency, with headroom.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

INITIAL_RATE = 4.0  # requests per second before anything is known
MIN_RATE = 0.5
MAX_RATE = 1000.0
DECREASE = 0.7  # multiplicative decrease on a 429 (quota unknown)
DECREASE_UNDER_CEILING = 0.9  # with a known ceiling, back off gently, and only when 429s persist:
THROTTLED_SHARE = 0.3  # more than this share of the last RECENT answers throttled (stray 429s are noise)
RECENT = 20
HEADROOM = 0.97  # pace a given ceiling 3 % under it: arrival jitter at the quota window's edge causes 429s
LATENCY_PRIOR = 1.0  # seconds assumed before the first answer (Little's law needs a latency)
INCREASE_SHARE = 0.05  # additive increase per second: 5 % of the rate (at least 1 request/s), after the first 429
SLOW_START_GROWTH = 1.5  # rate growth per second of success before the first 429
MAX_AUTO_CONCURRENCY = 128
PROBE_SECONDS = 1.0  # while a stated quota window is spent, one call a second finds out when it reopens


class RateLimiter:
    """Spaces calls ``1 / rate`` seconds apart across threads; ``rate`` may change while it runs.

    Each :meth:`acquire` reserves the next free slot and sleeps until it; retries acquire slots too, so the
    limit holds for every request sent, not only for first attempts. Idle time is not banked as a burst.
    """

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = 0.0

    @property
    def interval(self) -> float:
        return 1.0 / self.rate

    def acquire(self) -> float:
        """Wait for this caller's slot; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
        wait = slot - now
        if wait > 0:
            self._sleep(wait)
        return wait

    def observe(self, latency: float, *, throttled: bool) -> None:
        """A fixed limiter learns nothing from outcomes."""

    def learn_quota(self, limit: int, window_seconds: float) -> None:
        """... nor from a stated quota (the rate it was given holds)."""


class AdaptivePacer(RateLimiter):
    """A :class:`RateLimiter` whose rate adapts to 429s (AIMD with slow start) under an optional ceiling, and
    which derives the concurrency a batch needs from the rate and the observed latency."""

    def __init__(
        self,
        max_rate: float | None = None,
        *,
        max_concurrency: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.max_rate = max_rate * HEADROOM if max_rate else None
        super().__init__(self.max_rate or INITIAL_RATE, clock=clock, sleep=sleep)
        self.fixed_concurrency = max_concurrency
        self.slow_start = max_rate is None
        self.latency: float | None = None  # seconds, EWMA of observed call latency
        self.throttled = 0
        self._recent: deque[bool] = deque(maxlen=RECENT)
        self._last_decrease = -math.inf
        self._last_increase = clock()
        self.quota: tuple[int, float] | None = None  # (limit, window seconds) as the service stated it
        self.window_spent = False  # a 429 stating the quota came, and no call has passed since

    @property
    def interval(self) -> float:
        """Seconds between calls: the rate's, or one probe a second while a stated quota window is spent."""
        return max(1.0 / self.rate, PROBE_SECONDS) if self.window_spent else 1.0 / self.rate

    def learn_quota(self, limit: int, window_seconds: float) -> None:
        """The service said its quota (APIG.0308: ``limit:300,time:1 minute``): pace under it from now on, and
        probe once a second until the spent window reopens instead of sending into it."""
        with self._lock:
            ceiling = limit / window_seconds * HEADROOM
            self.quota = (limit, window_seconds)
            self.max_rate = min(self.max_rate or ceiling, ceiling)
            self.rate = min(self.rate, self.max_rate)
            self.slow_start = False
            self.window_spent = True
            self._next = max(self._next, self._clock() + PROBE_SECONDS)

    def observe(self, latency: float, *, throttled: bool) -> None:
        """Learn from one answered call: its latency, and whether it was throttled (429)."""
        with self._lock:
            now = self._clock()
            latency = max(0.001, latency)
            self.latency = latency if self.latency is None else 0.8 * self.latency + 0.2 * latency
            self._recent.append(throttled)
            if throttled:
                self.throttled += 1
                self.slow_start = False
                share = sum(self._recent) / len(self._recent)
                persistent = len(self._recent) >= RECENT // 2 and share > THROTTLED_SHARE
                congested = persistent if self.max_rate else True
                if congested and now - self._last_decrease >= max(1.0, self.latency):  # once per congestion event
                    factor = DECREASE_UNDER_CEILING if self.max_rate else DECREASE
                    self.rate = max(MIN_RATE, self.rate * factor)
                    self._last_decrease = now
                return
            self.window_spent = False
            elapsed = now - self._last_increase
            self._last_increase = now
            if self.slow_start:
                self.rate = self.rate * SLOW_START_GROWTH ** min(elapsed, 1.0)
            else:
                self.rate += max(1.0, INCREASE_SHARE * self.rate) * min(elapsed, 1.0)
            self.rate = min(self.rate, self.max_rate or MAX_RATE)

    def concurrency(self) -> int:
        """Calls to keep in flight: given, or rate × latency (Little's law) with 25 % headroom."""
        if self.fixed_concurrency:
            return self.fixed_concurrency
        latency = LATENCY_PRIOR if self.latency is None else self.latency
        return max(2, min(MAX_AUTO_CONCURRENCY, math.ceil(self.rate * latency * 1.25) + 1))
