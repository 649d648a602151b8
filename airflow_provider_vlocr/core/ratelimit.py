"""Client-side pacing: a request rate that adapts to 429s, and the concurrency that rate needs.

* With ``max_requests_per_second`` the rate never exceeds it (and still backs off on a real limit).
* APIG.0308 states the account's quota (``limit:300,time:1 minute``): the pace stays under it from then on, and a
  spent window is probed once a second instead of hammered.
* Otherwise the quota is unknown (Huawei's is "dynamically adjusted"): the rate doubles every round trip while
  calls succeed (slow start, as TCP does), and after a real limit moves additively up and multiplicatively down
  (AIMD), so a batch settles just under the quota.
* A 429 is taken for a limit only when the share of 429s rises above the noise floor; a decrease is then checked:
  if the share does not fall at the lower rate, the 429s were random faults (they do not answer to the rate), the
  rate is restored (as soon as enough 429s have shown it) and the floor raised. 5xx and resets never slow the pace.
* The state (rate, ceiling, slots) lives in a :class:`~.pacestore.PaceStore`: per process by default, or shared by
  all workers of a deployment (:mod:`.redis_pacing`).
* Concurrency, unless given, follows Little's law: rate × observed latency, with headroom.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from .pacestore import LocalPaceStore, PaceState, PaceStore

INITIAL_RATE = 4.0  # requests per second before anything is known
SLOW_START_RTT = 0.5  # seconds: slow start doubles the rate every round trip, but at most this often
DECREASE = 0.7  # a cut on a limit (quota unknown) takes at least this much off ...
DECREASE_UNDER_CEILING = 0.9  # ... or this much with a known ceiling
MIN_DECREASE = 0.05  # ... and leaves at least this share of the rate
MIN_SAMPLES = 20  # answers a 429 share is judged on, at least, ...
PERIOD = (0.25, 1.0)  # ... over a round trip within these seconds (more answers at higher rates: finer shares)
PROBE_ANSWERS = 100  # answers sent after a cut that judge it, at least; enough to expect PROBE_EXPECTED 429s
PROBE_EXPECTED = 6.0  # if the 429s before the cut were noise
NOISE_KEPT = 0.15  # a probe whose share stays above this fraction of the share before the cut found noise
MAX_NOISE = 0.15  # random faults beyond this share are not told from a limit
TRIAL_SECONDS = 60.0  # no caller raises the rate while a cut is on trial, for this long at most
HOLD_SECONDS = 10.0  # the pace holds just under a limit found this long before probing above it again
PAST_LIMIT = 1.25  # passing the last limit found by this much without congestion resumes slow start
HEADROOM = 0.97  # pace a given ceiling 3 % under it: arrival jitter at the quota window's edge causes 429s
LATENCY_PRIOR = 1.0  # seconds assumed before the first answer (Little's law needs a latency)
MIN_LATENCY = 0.001
INCREASE_SHARE = 0.05  # additive increase per second after a limit: 5 % of the rate ...
MIN_INCREASE = 0.2  # ... and at least this many requests/s
APP_LIMITED = 2.0  # the rate grows only up to this multiple of what callers actually send
MAX_AUTO_CONCURRENCY = 128
PROBE_SECONDS = 1.0  # while a stated quota window is spent, one call a second finds out when it reopens ...
PROBED_WINDOW = 2.0  # ... for windows this long or longer (a shorter one reopens before a probe would tell)


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


class _Probe:
    """A cut on trial: answers sent after it show whether the 429 share answers to the rate. They count from a
    second (or a round trip) after the cut: a limit's window still full of earlier calls refuses a while."""

    def __init__(self, since: float, through: float, factor: float, share_before: float) -> None:
        self.since = since
        self.through = through  # what got through when the 429s came
        self.factor = factor
        self.share_before = share_before
        self.answers = 0
        self.throttled = 0
        self.needed = min(600, max(PROBE_ANSWERS, math.ceil(PROBE_EXPECTED / max(share_before, 0.01))))

    @property
    def noise_count(self) -> float:
        """429s among ``needed`` answers that show noise. The verdict is known once they have come: a trial on
        random faults ends early, and costs the lowered rate for about a third of its length."""
        return max(3.0, NOISE_KEPT * self.share_before * self.needed)


class AdaptivePacer(RateLimiter):
    """A :class:`RateLimiter` whose rate adapts to limits (slow start, then AIMD) under an optional ceiling,
    tells random 429s from a real limit, and derives the concurrency a batch needs from the rate and the latency."""

    def __init__(
        self,
        max_rate: float | None = None,
        *,
        max_concurrency: int | None = None,
        store: PaceStore | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        ceiling = max_rate * HEADROOM if max_rate else None
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self.store: PaceStore = store or LocalPaceStore(ceiling or INITIAL_RATE, ceiling=ceiling, clock=clock)
        self._seen: PaceState = self.store.cap(ceiling) if ceiling else self.store.state()
        self.fixed_concurrency = max_concurrency
        self.slow_start = True  # until a limit is found (a ceiling, given or stated, caps it)
        self.latency: float | None = None  # seconds, EWMA of the latency of answered (not throttled) calls
        self.throttled = 0
        self.noise = 0.0  # the share of 429s that does not answer to the rate (random faults)
        self.quota: tuple[int, float] | None = None  # (limit, window seconds) as the service stated it
        self._binding = False  # the last caller waited for its slot: the rate, not the caller, sets the pace
        self._spends = 0  # stated quota windows found spent so far
        started = clock()
        self._period = (started, 0, 0)  # since when, answers, 429s: what the next judgement is made on
        self._sent: deque[float] = deque()  # when this caller sent in about the last second (its share of the sends)
        self._probe: _Probe | None = None
        self._cuts_seen = self._seen.cuts  # cuts any caller of the store made, as last seen here
        self._last_increase = started

    @property
    def rate(self) -> float:
        """Requests per second paced now (as of this caller's last look at the store)."""
        return self._seen.rate

    @rate.setter
    def rate(self, value: float) -> None:
        self._seen = self.store.scale(value / self._seen.rate)

    @property
    def max_rate(self) -> float | None:
        return self._seen.ceiling

    @property
    def window_spent(self) -> bool:
        return self._seen.spent

    @property
    def interval(self) -> float:
        """Seconds between calls: the rate's, or one probe a second while a stated quota window is spent."""
        return max(1.0 / self.rate, PROBE_SECONDS) if self.window_spent else 1.0 / self.rate

    def acquire(self) -> float:
        """Wait for this caller's slot (reserved in the store, so shared with every caller of the store). A slot
        reserved before a stated quota window was found spent is given up for a probe slot after it."""
        waited = 0.0
        while True:
            spends = self._spends
            wait, self._seen = self.store.reserve(PROBE_SECONDS)
            self._binding = wait > 0
            self._sent.append(self._clock() + wait)
            if wait > 0:
                self._sleep(wait)
            waited += wait
            if spends == self._spends:
                return waited

    def learn_quota(self, limit: int, window_seconds: float) -> None:
        """The service said its quota (APIG.0308: ``limit:300,time:1 minute``): pace under it from now on, and
        (for a window of PROBED_WINDOW or more) probe once a second until the spent window reopens instead of
        sending into it."""
        with self._lock:
            self.quota = (limit, window_seconds)
            self._seen = self.store.cap(limit / window_seconds * HEADROOM)
            if window_seconds >= PROBED_WINDOW:
                self._seen = self.store.spend(PROBE_SECONDS)
                self._spends += 1
            self.slow_start = False
            self._probe = None  # a stated limit needs no trial

    def observe(self, latency: float, *, throttled: bool) -> None:
        """Learn from one answered call: its latency, and whether it was throttled (429)."""
        with self._lock:
            now = self._clock()
            latency = max(MIN_LATENCY, latency)
            if not throttled:  # a 429 comes back at once: it says nothing of how long answers take
                self.latency = latency if self.latency is None else 0.8 * self.latency + 0.2 * latency
            self.throttled += throttled
            self._count(now, throttled)
            probe = self._probe
            if probe is not None and now - latency >= probe.since + max(1.0, self.latency or 0.0):
                probe.answers += 1
                probe.throttled += throttled
                if probe.answers >= probe.needed or probe.throttled >= probe.noise_count:
                    self._judge(probe)
            since, answers, _ = self._period
            if answers >= MIN_SAMPLES and now - since >= min(max(self.latency or 0.0, PERIOD[0]), PERIOD[1]):
                if self._probe is None and not self._seen.frozen and self._congested():
                    self._decrease(now)
                self._period = (now, 0, 0)
            if self._seen.cuts > self._cuts_seen:  # another caller of the store cut the rate: a limit is near
                self._cuts_seen = self._seen.cuts
                self.slow_start = False
            if throttled:
                return
            if self._seen.spent:
                self._seen = self.store.reopen()
            self._increase(now)  # the store holds the rate while a cut (anyone's) is on trial

    def _count(self, now: float, throttled: bool) -> None:
        since, answers, refused = self._period
        self._period = (since, answers + 1, refused + throttled)
        while self._sent and self._sent[0] <= now - 1.0:
            self._sent.popleft()

    def _congested(self) -> bool:
        """A limit, not noise: more 429s in the period than the noise floor explains (two standard deviations of
        a binomial count, and one more; three once random faults were found, whose false alarms each cost a
        trial, while a limit's 429s still stand out: they grow with the rate)."""
        _, answers, refused = self._period
        noise = self.noise
        spread = (3.0 if noise else 2.0) * math.sqrt(answers * max(noise, 0.05) * (1.0 - noise))
        return refused > answers * noise + spread + 1.0

    def _decrease(self, now: float) -> None:
        """Cut the rate to what got through in the last second (by DECREASE at least), once per congestion event
        across all callers of the store. Unless the 429s came above a limit found before, put the cut on trial:
        random faults look like a limit until a lower rate does not make them rarer."""
        _, answers, refused = self._period
        share = refused / answers
        through = self._seen.ok_rate  # answered in the last second, by every caller of the store
        before = self._seen.rate
        most = DECREASE_UNDER_CEILING if self._seen.ceiling is not None else DECREASE
        target = max(MIN_DECREASE * before, min(most * before, through * HEADROOM))
        found = self._seen.found
        once_per = max(1.0, self.latency or 0.0)
        applied, self._seen = self.store.lower(target, once_per=once_per, freeze=TRIAL_SECONDS)
        if not applied:
            return
        self._cuts_seen = self._seen.cuts
        if found is not None and before >= found:
            self._seen = self.store.found(through)  # that limit again: no trial needed
        else:
            self._probe = _Probe(now, through, self._seen.rate / before, share)
            mine = len(self._sent) / max(self._seen.sent_rate, len(self._sent), 1.0)
            self._probe.needed = max(MIN_SAMPLES, math.ceil(self._probe.needed * mine))  # others answer too
        self.slow_start = False

    def _judge(self, probe: _Probe) -> None:
        """After enough answers sent at the lowered rate: did the 429 share fall (to about nothing, since the rate
        was cut below what got through)? If not, the 429s were random faults: restore the rate, raise the noise
        floor to the share seen, forget any limit found before (it may have been the same noise) and ramp again."""
        self._probe = None
        share = probe.throttled / probe.answers  # stopped early, it errs high: a high floor raises fewer alarms
        if probe.throttled >= probe.noise_count:
            self.noise = min(MAX_NOISE, max(self.noise, share))  # the floor only rises: fewer false alarms
            self.store.scale(1.0 / probe.factor)
            self._seen = self.store.found(0.0)
            self.slow_start = True
        else:
            self._seen = self.store.found(probe.through)

    def _increase(self, now: float) -> None:
        """Count the answer in the store and raise the rate. Slow start: + 1/RTT per answer (the rate doubles every
        round trip, SLOW_START_RTT at the fastest). After a limit: hold just under it for HOLD_SECONDS, then + 5 %
        of the rate per second. While callers do not wait for slots, never beyond APP_LIMITED × what they send: a
        rate nobody uses would only have to be walked down again when a limit appears."""
        elapsed = min(now - self._last_increase, 1.0)
        self._last_increase = now
        self._seen = self.store.add(self._step(elapsed), limit=self._growth_limit())

    def _step(self, elapsed: float) -> float:
        seen = self._seen
        if seen.frozen or (seen.ceiling is not None and seen.rate >= seen.ceiling):
            return 0.0
        if seen.found and not self.slow_start:
            if seen.rate >= seen.found * HEADROOM and seen.found_age < HOLD_SECONDS:
                return 0.0  # hold just under the limit found; probe above it only now and then
            if seen.rate > PAST_LIMIT * seen.found:
                self.slow_start = True  # the limit moved, or that cut was a fault's: find the new one fast
        if self.slow_start:
            return 1.0 / max(self.latency or LATENCY_PRIOR, SLOW_START_RTT)
        return max(MIN_INCREASE, INCREASE_SHARE * seen.rate) * elapsed

    def _growth_limit(self) -> float:
        return math.inf if self._binding else APP_LIMITED * max(self._seen.sent_rate, INITIAL_RATE)

    def concurrency(self) -> int:
        """Calls to keep in flight: given, or rate × latency (Little's law) with 25 % headroom."""
        if self.fixed_concurrency:
            return self.fixed_concurrency
        latency = LATENCY_PRIOR if self.latency is None else self.latency
        return max(2, min(MAX_AUTO_CONCURRENCY, math.ceil(self.rate * latency * 1.25) + 1))
