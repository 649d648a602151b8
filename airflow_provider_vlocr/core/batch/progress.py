"""Running totals of a batch, for the progress line, the summary and the failure policy."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from ..errors import ApiError, BudgetExhaustedError, ImageValidationError, ThrottledError, VlocrError


@dataclass
class Progress:
    """Running totals of a batch (thread-safe)."""

    total: int
    started: float = field(default_factory=time.monotonic)
    done: int = 0
    errors: int = 0
    skipped: int = 0
    budget_skipped: int = 0
    retryable_errors: int = 0
    throttled_errors: int = 0  # the account's quota (APIG.0308): the next quota window will take them
    error_codes: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, error: BaseException | None = None, *, skipped: bool = False) -> None:
        """Count one finished item."""
        with self.lock:
            self.done += 1
            self.skipped += skipped
            if isinstance(error, BudgetExhaustedError):  # not sent: not a failure of the image
                self.budget_skipped += 1
            elif error is not None:
                self.errors += 1
                self.error_codes[error_code(error)] += 1
                self.retryable_errors += isinstance(error, VlocrError) and error.retryable
                self.throttled_errors += isinstance(error, ThrottledError)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def rate(self) -> float:
        processed = self.done - self.skipped
        return processed / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        return (self.total - self.done) / self.rate if self.rate > 0 else None

    def line(self) -> str:
        eta = self.eta_seconds
        return (
            f"{self.done}/{self.total} images, {self.rate:.2f} img/s, "
            f"ETA {'?' if eta is None else f'{eta:.0f}s'}, errors {self.errors}"
            + (f" {dict(self.error_codes)}" if self.error_codes else "")
        )


def error_code(error: BaseException) -> str:
    """A short code for summaries: the API code, the image rule, or the class name."""
    if isinstance(error, ApiError) and error.error_code:
        return str(error.error_code)
    if isinstance(error, ImageValidationError):
        return f"{type(error).__name__}:{error.rule}"
    return type(error).__name__
