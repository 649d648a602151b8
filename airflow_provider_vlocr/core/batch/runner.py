"""Run many recognitions with bounded (or adaptive) concurrency and re-queued retries: no head-of-line stalls."""

from __future__ import annotations

import heapq
import logging
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import ApiError, ThrottledError, VlocrError
from ..models import OcrResponse
from ..retry import RetryPolicy

log = logging.getLogger(__name__)
MAX_WORKERS = 128  # threads are started on demand, up to the concurrency actually asked for
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
    attempts: int = 1

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
    budget_skipped: int = 0
    retryable_errors: int = 0
    throttled_errors: int = 0  # the account's quota (APIG.0308): the next quota window will take them
    error_codes: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, error: BaseException | None = None, *, skipped: bool = False) -> None:
        """Count one finished item (thread-safe)."""
        with self.lock:
            self.done += 1
            self.skipped += skipped
            if getattr(error, "rule", None) == "budget":  # not sent: not a failure of the image
                self.budget_skipped += 1
            elif error is not None:
                self.errors += 1
                self.error_codes[error_code(error)] += 1
                self.retryable_errors += bool(getattr(error, "retryable", False))
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
    rule = getattr(error, "rule", None)
    return f"{type(error).__name__}:{rule}" if rule else type(error).__name__


class BatchStopped(Exception):
    """The batch was asked to stop (the task was killed): what was answered is recorded, nothing more is sent."""


@dataclass(order=True)
class _Waiting:
    """A task waiting for its retry time (kept in a heap; holds no worker)."""

    not_before: float
    seq: int
    task: ImageTask = field(compare=False)
    attempts: int = field(compare=False)
    waited: float = field(compare=False)
    started: float = field(compare=False)


def run_batch(
    tasks: Iterable[ImageTask],
    process: Callable[[ImageTask], OcrResponse],
    *,
    total: int,
    max_concurrency: int | Callable[[], int] = 4,
    retry: RetryPolicy | None = None,
    is_fatal: Callable[[BaseException], bool] = lambda _: False,
    progress: Progress | None = None,
    progress_interval: float = 5.0,
    report: Callable[[Progress], None] | None = None,
    stop: threading.Event | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[Outcome]:
    """Process ``tasks`` with bounded concurrency; yield each outcome as it completes (its ``task.index`` says
    where it belongs).

    ``process`` makes a single attempt. A retryable failure is re-queued with a not-before time from ``retry``
    (back-off, ``Retry-After``, attempts and time budget), so waiting holds no worker and stalls no other item.
    ``max_concurrency`` may be a callable read before each submission (adaptive pacing). Tasks are drawn from
    ``tasks`` only as workers free up, so memory stays flat for any batch size. A fatal error (``is_fatal``)
    stops submitting, lets in-flight work finish (yielding it), then raises :class:`FatalBatchError`; a set
    ``stop`` event does the same and raises :class:`BatchStopped`.
    """
    policy = retry or RetryPolicy(max_attempts=1)
    progress = progress or Progress(total=total)
    report = report or (lambda p: log.info("progress: %s", p.line()))
    limit = max_concurrency if callable(max_concurrency) else (lambda: max(1, int(max_concurrency)))
    stop = stop or threading.Event()
    source = iter(tasks)
    exhausted = False
    waiting: list[_Waiting] = []
    due: deque[_Waiting] = deque()
    in_flight: dict[Future[tuple[OcrResponse | None, BaseException | None, float]], _Waiting] = {}
    fatal: Outcome | None = None
    seq = 0
    last_report = clock()
    reported_done = -1

    def attempt(task: ImageTask) -> tuple[OcrResponse | None, BaseException | None, float]:
        started = clock()
        try:
            return process(task), None, clock() - started
        except (VlocrError, OSError, ValueError) as exc:
            return None, exc, clock() - started
        except Exception as exc:  # an unexpected failure still ends as this item's error record
            log.exception("unexpected error on %s", task.source)
            return None, exc, clock() - started

    # Finished attempts arrive on a queue (a done-callback): one cheap hand-off per call, whatever is in flight.
    completed: queue.SimpleQueue[Future[tuple[OcrResponse | None, BaseException | None, float]]] = queue.SimpleQueue()
    with ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="vlocr") as pool:
        while True:
            now = clock()
            while waiting and waiting[0].not_before <= now:
                due.append(heapq.heappop(waiting))
            while fatal is None and not stop.is_set() and len(in_flight) < limit():
                if due:
                    entry = due.popleft()
                elif not exhausted:
                    task = next(source, None)
                    if task is None:
                        exhausted = True
                        continue
                    seq += 1
                    entry = _Waiting(now, seq, task, 0, 0.0, now)
                else:
                    break
                entry.attempts += 1
                future = pool.submit(attempt, entry.task)
                in_flight[future] = entry
                future.add_done_callback(completed.put)
            if not in_flight:
                if fatal is not None:
                    raise FatalBatchError(fatal.error or RuntimeError("fatal"), fatal)
                if stop.is_set() and (waiting or due or not exhausted):
                    raise BatchStopped("stopped before every image was sent")
                if not waiting and not due and exhausted:
                    break
            if in_flight:
                timeout = progress_interval
                if waiting:
                    timeout = max(0.0, min(timeout, waiting[0].not_before - clock()))
                done = _completed(completed, timeout)
            else:  # only back-offs pending: sleep until the first is due
                done = []
                time.sleep(max(0.0, min(progress_interval, waiting[0].not_before - clock())) if waiting else 0.0)
            for future in done:
                entry = in_flight.pop(future)
                response, error, _latency = future.result()
                if error is not None and _should_retry(policy, entry, error) and fatal is None and not stop.is_set():
                    delay = policy.delay_for(entry.attempts, error)
                    entry.waited += delay
                    entry.not_before = clock() + delay
                    heapq.heappush(waiting, entry)
                    continue
                outcome = Outcome(entry.task, response=response, error=error, attempts=entry.attempts)
                outcome.elapsed_ms = round((clock() - entry.started) * 1000, 1)
                progress.add(error)
                if error is not None and is_fatal(error):
                    fatal = fatal or outcome
                    continue
                yield outcome
            if clock() - last_report >= progress_interval:
                report(progress)
                last_report, reported_done = clock(), progress.done
    if reported_done != progress.done:  # the final line, unless it was just printed
        report(progress)


def _completed(completed: queue.SimpleQueue[Any], timeout: float) -> list[Any]:
    """Every attempt finished so far, waiting up to ``timeout`` for the first."""
    try:
        done = [completed.get(timeout=timeout)]
    except queue.Empty:
        return []
    while True:
        try:
            done.append(completed.get_nowait())
        except queue.Empty:
            return done


def _should_retry(policy: RetryPolicy, entry: _Waiting, error: BaseException) -> bool:
    """Whether a failed attempt goes back to the queue (retryable, attempts and time budget left)."""
    if not getattr(error, "retryable", False):
        return False
    cap = getattr(error, "max_retries", None)
    attempts = policy.max_attempts if cap is None else min(policy.max_attempts, cap + 1)
    if entry.attempts >= attempts:
        return False
    return entry.waited + policy.delay_for(entry.attempts, error) <= policy.budget_seconds  # type: ignore[arg-type]
