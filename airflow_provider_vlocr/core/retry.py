"""Exponential backoff with jitter for retryable errors, honouring ``Retry-After``, within a time budget."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from .errors import ApiError, VlocrError

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How retryable errors are retried.

    ``max_attempts`` counts the first try. Delays grow ``initial_delay * multiplier**n`` up to ``max_delay``,
    with "equal jitter" (a random half of the delay). A ``Retry-After`` from the server is honoured as a floor.
    ``budget_seconds`` caps the total time spent waiting; once spent, the last error is raised.
    """

    max_attempts: int = 5
    initial_delay: float = 1.0
    multiplier: float = 2.0
    max_delay: float = 30.0
    budget_seconds: float = 120.0
    jitter: bool = True
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def delay_for(self, retry_number: int, error: VlocrError) -> float:
        """Seconds to wait before retry ``retry_number`` (1-based)."""
        base = min(self.max_delay, self.initial_delay * (self.multiplier ** (retry_number - 1)))
        delay = base / 2 + self.rng.uniform(0, base / 2) if self.jitter else base
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay

    def run(
        self,
        call: Callable[[], T],
        *,
        sleep: Callable[[float], None] = time.sleep,
        describe: str = "request",
    ) -> tuple[T, int]:
        """Run ``call`` until it succeeds or fails permanently; return ``(result, attempts)``."""
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            try:
                return call(), attempt
            except VlocrError as error:
                cap = getattr(error, "max_retries", None)
                limit = self.max_attempts if cap is None else min(self.max_attempts, cap + 1)
                if not error.retryable or attempt >= limit:
                    raise
                delay = self.delay_for(attempt, error)
                if waited + delay > self.budget_seconds:
                    log.warning(
                        "%s: retry budget of %.1fs spent after %d attempts", describe, self.budget_seconds, attempt
                    )
                    raise
                code = error.error_code if isinstance(error, ApiError) else None
                log.info(
                    "%s: retryable %s%s, attempt %d/%d, retrying in %.2fs",
                    describe,
                    type(error).__name__,
                    f" {code}" if code else "",
                    attempt,
                    limit,
                    delay,
                )
                sleep(delay)
                waited += delay
