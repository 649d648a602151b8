"""Run many recognitions with bounded concurrency, yielding outcomes in input order with flat memory."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Literal

from ..errors import ApiError, VlocrError
from ..models import OcrResponse

log = logging.getLogger(__name__)
Kind = Literal["url", "path", "bytes"]


@dataclass(frozen=True)
class ImageTask:
    """One input image: where it comes from and how to name it."""

    index: int
    source: str
    id: str
    kind: Kind
    value: str | bytes = field(repr=False)
    side: str | None = None


@dataclass
class Outcome:
    """What became of one :class:`ImageTask`: a response or an error, never neither."""

    task: ImageTask
    response: OcrResponse | None = None
    error: BaseException | None = None
    elapsed_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.response is not None


class FatalBatchError(Exception):
    """A failure that stops the whole batch (bad credentials, configuration): retrying items cannot help."""

    def __init__(self, cause: BaseException, outcome: Outcome) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.outcome = outcome


@dataclass
class Progress:
    """Running totals of a batch."""

    total: int
    started: float = field(default_factory=time.monotonic)
    done: int = 0
    errors: int = 0
    skipped: int = 0
    retryable_errors: int = 0
    error_codes: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, error: BaseException | None = None, *, skipped: bool = False) -> None:
        """Count one finished item (thread-safe)."""
        with self.lock:
            self.done += 1
            self.skipped += skipped
            if error is not None:
                self.errors += 1
                self.error_codes[error_code(error)] += 1
                self.retryable_errors += bool(getattr(error, "retryable", False))

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
    rule = getattr(error, "rule", None)
    return f"{type(error).__name__}:{rule}" if rule else type(error).__name__


def run_batch(
    tasks: Iterable[ImageTask],
    process: Callable[[ImageTask], OcrResponse],
    *,
    total: int,
    max_concurrency: int = 4,
    is_fatal: Callable[[BaseException], bool] = lambda _: False,
    progress: Progress | None = None,
    progress_interval: float = 5.0,
    report: Callable[[Progress], None] | None = None,
) -> Iterator[Outcome]:
    """Process ``tasks`` with at most ``max_concurrency`` in flight; yield outcomes in input order.

    At most ``2 * max_concurrency`` tasks are submitted ahead of the one being yielded, so memory stays flat
    for any batch size. A fatal error (``is_fatal``) stops submitting, lets in-flight work finish, and raises
    :class:`FatalBatchError` in order. Any other exception becomes that item's error outcome.
    """
    progress = progress or Progress(total=total)
    report = report or (lambda p: log.info("progress: %s", p.line()))

    def work(task: ImageTask) -> Outcome:
        started = time.monotonic()
        try:
            outcome = Outcome(task, response=process(task))
        except (VlocrError, OSError, ValueError) as exc:
            outcome = Outcome(task, error=exc)
        except Exception as exc:  # an unexpected failure still ends as this item's error record
            log.exception("unexpected error on %s", task.source)
            outcome = Outcome(task, error=exc)
        outcome.elapsed_ms = round((time.monotonic() - started) * 1000, 1)
        progress.add(outcome.error)
        return outcome

    last_report = time.monotonic()
    window: deque[Future[Outcome]] = deque()
    iterator = iter(tasks)
    exhausted = False
    stop = False
    with ThreadPoolExecutor(max_workers=max(1, max_concurrency), thread_name_prefix="vlocr") as pool:
        while True:
            while not exhausted and not stop and len(window) < 2 * max(1, max_concurrency):
                try:
                    window.append(pool.submit(work, next(iterator)))
                except StopIteration:
                    exhausted = True
            if not window:
                break
            head = window[0]
            while not head.done():
                wait([head], timeout=progress_interval)
                if time.monotonic() - last_report >= progress_interval:
                    report(progress)
                    last_report = time.monotonic()
            window.popleft()
            outcome = head.result()
            if outcome.error is not None and is_fatal(outcome.error):
                stop = True
                for future in window:
                    future.cancel()
                raise FatalBatchError(outcome.error, outcome)
            yield outcome
            if time.monotonic() - last_report >= progress_interval:
                report(progress)
                last_report = time.monotonic()
    report(progress)
