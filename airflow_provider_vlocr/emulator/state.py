"""The emulator's mutable state: issued tokens, counters, the QPS window and AK lockouts. Thread-safe."""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any


class EmulatorError(Exception):
    """An error answer: HTTP status, error code and message, in Huawei's or Keystone's body style."""

    def __init__(self, status: int, code: str, message: str, *, keystone: bool = False) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.keystone = keystone


@dataclass
class IssuedToken:
    user: str
    domain: str
    project_id: str | None
    project_name: str | None
    issued_at: float
    expires_at: float


def new_token_value() -> str:
    """A token shaped like IAM's: ``MII`` and a few KB of base64url."""
    return "MII" + secrets.token_urlsafe(1536)


class TokenStore:
    """Tokens issued by ``POST /v3/auth/tokens``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, IssuedToken] = {}

    def issue(self, token: IssuedToken) -> str:
        value = new_token_value()
        with self._lock:
            self._tokens[value] = token
        return value

    def get(self, value: str) -> IssuedToken | None:
        with self._lock:
            return self._tokens.get(value)

    def expire_all(self, now: float | None = None) -> int:
        """Make every issued token expired (to force a refresh mid-batch)."""
        moment = (now or time.time()) - 1
        with self._lock:
            for token in self._tokens.values():
                token.expires_at = min(token.expires_at, moment)
            return len(self._tokens)


class SlidingSecond:
    """The moments of the last second (not thread-safe: callers hold their own lock)."""

    def __init__(self) -> None:
        self._times: deque[float] = deque()

    def count(self, moment: float) -> int:
        """How many moments are less than a second before ``moment`` (older ones are dropped)."""
        while self._times and moment - self._times[0] >= 1.0:
            self._times.popleft()
        return len(self._times)

    def add(self, moment: float) -> None:
        self._times.append(moment)

    def clear(self) -> None:
        self._times.clear()


class QuotaWindow:
    """The service's quota: at most ``limit`` admitted requests in any sliding second (``None``/0: unlimited)."""

    def __init__(self, limit: float | None) -> None:
        self._lock = threading.Lock()
        self._admitted = SlidingSecond()
        self.limit = limit

    def admit(self, now: float | None = None) -> bool:
        if not self.limit:
            return True
        moment = time.monotonic() if now is None else now
        with self._lock:
            if self._admitted.count(moment) >= self.limit:
                return False
            self._admitted.add(moment)
            return True


class FixedWindowQuota:
    """Huawei's account quota: at most ``limit`` admitted requests in each fixed window of ``seconds`` (windows
    start when the emulator does); ``None``/0: unlimited."""

    def __init__(self, limit: int | None, seconds: float) -> None:
        self._lock = threading.Lock()
        self.limit = limit
        self.seconds = seconds
        self._epoch = time.monotonic()
        self._window = -1
        self._admitted = 0

    def admit(self, now: float | None = None) -> bool:
        if not self.limit:
            return True
        window = int(((time.monotonic() if now is None else now) - self._epoch) // self.seconds)
        with self._lock:
            if window != self._window:
                self._window, self._admitted = window, 0
            if self._admitted >= self.limit:
                return False
            self._admitted += 1
            return True

    def describe(self) -> str:
        """The window as Huawei's message says it: ``1 minute``, ``1 hour``, ``5 second``."""
        for unit, size in (("hour", 3600.0), ("minute", 60.0)):
            if self.seconds % size == 0:
                return f"{self.seconds / size:g} {unit}"
        return f"{self.seconds:g} second"


class AkLockout:
    """The gateway locks an AK for a while after too many consecutive signature failures."""

    def __init__(self, failures: int, seconds: float) -> None:
        self._lock = threading.Lock()
        self._failures: Counter[str] = Counter()
        self._locked_until: dict[str, float] = {}
        self.max_failures = failures
        self.seconds = seconds

    def locked(self, ak: str) -> bool:
        with self._lock:
            return self._locked_until.get(ak, 0.0) > time.time()

    def failure(self, ak: str) -> None:
        with self._lock:
            self._failures[ak] += 1
            if self._failures[ak] > self.max_failures:
                self._locked_until[ak] = time.time() + self.seconds

    def success(self, ak: str) -> None:
        with self._lock:
            self._failures.pop(ak, None)


@dataclass
class Counters:
    """What tests and benchmarks read from ``GET /_emulator/counters``."""

    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    tokens_issued: int = 0
    token_failures: int = 0
    project_lookups: int = 0
    ocr_requests: int = 0
    ocr_billed: int = 0
    billed_by_image: Counter[str] = field(default_factory=Counter)
    responses_by_status: Counter[str] = field(default_factory=Counter)
    errors_by_code: Counter[str] = field(default_factory=Counter)
    faults_injected: Counter[str] = field(default_factory=Counter)
    enterprise_project_ids: Counter[str] = field(default_factory=Counter)
    in_flight: int = 0
    max_in_flight: int = 0
    max_qps: int = 0  # the most OCR requests that arrived within any sliding second (admitted or throttled)
    first_ocr_at: float | None = None  # wall-clock time of the first and the last OCR request
    last_ocr_at: float | None = None
    _arrivals: SlidingSecond = field(default_factory=SlidingSecond, repr=False)

    def bump(self, name: str, amount: int = 1) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + amount)

    def count(self, mapping: str, key: str) -> None:
        with self.lock:
            getattr(self, mapping)[key] += 1

    def arrive(self, now: float | None = None) -> None:
        """An OCR request arrived: update the peak request rate over any sliding second."""
        moment = time.monotonic() if now is None else now
        wall = time.time()
        with self.lock:
            self.first_ocr_at = self.first_ocr_at or wall
            self.last_ocr_at = wall
            self._arrivals.add(moment)
            self.max_qps = max(self.max_qps, self._arrivals.count(moment))

    def enter(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "tokens_issued": self.tokens_issued,
                "token_failures": self.token_failures,
                "project_lookups": self.project_lookups,
                "ocr_requests": self.ocr_requests,
                "ocr_billed": self.ocr_billed,
                "billed_by_image": dict(self.billed_by_image),
                "responses_by_status": dict(self.responses_by_status),
                "errors_by_code": dict(self.errors_by_code),
                "faults_injected": dict(self.faults_injected),
                "enterprise_project_ids": dict(self.enterprise_project_ids),
                "max_in_flight": self.max_in_flight,
                "max_qps": self.max_qps,
                "ocr_span_seconds": (self.last_ocr_at or 0.0) - (self.first_ocr_at or 0.0),
            }

    def reset(self) -> None:
        fresh = Counters()
        with self.lock:
            for name in (
                "tokens_issued",
                "token_failures",
                "project_lookups",
                "ocr_requests",
                "ocr_billed",
                "max_in_flight",
                "max_qps",
                "first_ocr_at",
                "last_ocr_at",
            ):
                setattr(self, name, getattr(fresh, name))
            self._arrivals.clear()
            for name in (
                "billed_by_image",
                "responses_by_status",
                "errors_by_code",
                "faults_injected",
                "enterprise_project_ids",
            ):
                getattr(self, name).clear()
