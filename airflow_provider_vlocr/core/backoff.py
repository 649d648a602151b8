"""Exponential backoff with jitter for retryable errors, honouring ``Retry-After``, within a time budget."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from .checks import parse_flag, parse_number
from .errors import ApiError, ConfigurationError, VlocrError

T = TypeVar("T")
log = logging.getLogger(__name__)


class RetryPolicy(BaseModel):
    """How retryable errors are retried.

    ``max_attempts`` counts the first try. Delays grow ``initial_delay * multiplier**n`` up to ``max_delay``,
    with "equal jitter" (a random half of the delay). A ``Retry-After`` from the server is honoured as a floor.
    ``budget_seconds`` caps the total time spent waiting; once spent, the last error is raised. Numbers and
    ``jitter`` may be rendered template strings.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_attempts: int = 5
    initial_delay: float = 1.0
    multiplier: float = 2.0
    max_delay: float = 30.0
    budget_seconds: float = 120.0
    jitter: bool = True

    @field_validator("max_attempts", mode="before")
    @classmethod
    def _attempts(cls, value: Any) -> int:
        return int(parse_number(value, "retry.max_attempts", minimum=1, integer=True))

    @field_validator("initial_delay", "multiplier", "max_delay", "budget_seconds", mode="before")
    @classmethod
    def _seconds(cls, value: Any, info: ValidationInfo) -> float:
        return parse_number(value, f"retry.{info.field_name}", minimum=0)

    @field_validator("jitter", mode="before")
    @classmethod
    def _jitter(cls, value: Any) -> bool:
        return bool(parse_flag(value, "retry.jitter", allow_none=False))

    @classmethod
    def from_dict(cls, settings: Mapping[str, Any] | None) -> RetryPolicy:
        """A policy from plain data (``{"max_attempts": 5, "initial_delay": 1, …}``, templatable and
        ``expand_kwargs``-friendly); unknown keys or bad values are a ``ConfigurationError`` naming them."""
        if settings is None:
            return cls()
        if not isinstance(settings, Mapping):
            raise ConfigurationError(f"argument 'retry' must be a dict of {', '.join(cls.model_fields)}")
        known = ", ".join(cls.model_fields)
        unknown = sorted(set(settings) - set(cls.model_fields))
        if unknown:
            raise ConfigurationError(f"argument 'retry': unknown key(s) {unknown}; known: {known}")
        return cls.model_validate(dict(settings))

    def delay_for(self, retry_number: int, error: VlocrError) -> float:
        """Seconds to wait before retry ``retry_number`` (1-based)."""
        base = min(self.max_delay, self.initial_delay * (self.multiplier ** (retry_number - 1)))
        delay = base / 2 + random.uniform(0, base / 2) if self.jitter else base
        if isinstance(error, ApiError) and error.retry_after is not None:
            delay = max(delay, error.retry_after)
        return delay

    def attempts_for(self, error: VlocrError) -> int:
        """How many attempts ``error`` allows in all: ``max_attempts``, or fewer when the error caps its own
        retries (``max_retries``: Huawei's failed URL fetch is retried once)."""
        return self.max_attempts if error.max_retries is None else min(self.max_attempts, error.max_retries + 1)

    def next_delay(self, attempts: int, waited: float, error: BaseException) -> float | None:
        """The wait before another attempt after ``attempts`` failed ones and ``waited`` seconds of waiting, or
        ``None`` when ``error`` is not retried: not retryable, attempts used up, or the time budget overrun."""
        if not isinstance(error, VlocrError) or not error.retryable or attempts >= self.attempts_for(error):
            return None
        delay = self.delay_for(attempts, error)
        return delay if waited + delay <= self.budget_seconds else None

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
                delay = self.next_delay(attempt, waited, error)
                if delay is None:
                    if error.retryable and attempt < self.attempts_for(error):
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
                    self.attempts_for(error),
                    delay,
                )
                sleep(delay)
                waited += delay
