"""Run many recognitions with bounded (or adaptive) concurrency and re-queued retries: no head-of-line stalls.

The scheduler submits what is due (a re-queued retry first, else the next input) while there is room, collects
finished attempts, re-queues a retryable failure with a not-before time (its wait holds no worker), and yields the
rest as :class:`Finished`.
"""

from __future__ import annotations

import heapq
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from ..backoff import RetryPolicy
from ..errors import VlocrError
from ..models import OcrResponse
from .inputs import ImageTask
from .progress import Progress

log = logging.getLogger(__name__)
MAX_WORKERS = 128  # threads are started on demand, up to the concurrency actually asked for
Attempt = tuple[OcrResponse | None, BaseException | None, float]


@dataclass
class Finished:
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

    def __init__(self, cause: BaseException, finished: Finished) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.finished = finished


class BatchStopped(Exception):
    """The batch was asked to stop (the task was killed): what was answered is recorded, nothing more is sent."""


@dataclass(order=True)
class _Waiting:
    """A task waiting for its (next) attempt; kept in a heap by its not-before time while it holds no worker."""

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
    before_send: Callable[[], None] | None = None,
) -> Iterator[Finished]:
    """Process ``tasks`` with bounded concurrency; yield each :class:`Finished` as it completes (its
    ``task.index`` says where it belongs).

    ``process`` makes a single attempt. A retryable failure is re-queued with a not-before time from ``retry``
    (back-off, ``Retry-After``, attempts and time budget), so waiting holds no worker and stalls no other item.
    ``max_concurrency`` may be a callable read before each submission (adaptive pacing). Tasks are drawn from
    ``tasks`` only as workers free up, so memory stays flat for any batch size. A fatal error (``is_fatal``)
    stops submitting, lets in-flight work finish (yielding it), then raises :class:`FatalBatchError`; a set
    ``stop`` event does the same and raises :class:`BatchStopped`. ``before_send`` runs before each round of new
    sends, once the items yielded so far are consumed: the journal makes them durable there, so no slot is reused
    before the answers it held are safe.
    """
    limit = max_concurrency if callable(max_concurrency) else (lambda: max(1, int(max_concurrency)))
    scheduler = Scheduler(
        iter(tasks), process, limit, retry or RetryPolicy(max_attempts=1), is_fatal,
        progress or Progress(total=total), stop or threading.Event(), clock, before_send,
    )  # fmt: skip
    with ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="vlocr") as pool:
        yield from scheduler.run(pool, progress_interval, report or (lambda p: log.info("progress: %s", p.line())))


@dataclass
class Scheduler:
    """The state of one :func:`run_batch`: what waits, what is due, what is in flight."""

    source: Iterator[ImageTask]
    process: Callable[[ImageTask], OcrResponse]
    limit: Callable[[], int]
    policy: RetryPolicy
    is_fatal: Callable[[BaseException], bool]
    progress: Progress
    stop: threading.Event
    clock: Callable[[], float]
    before_send: Callable[[], None] | None = None
    exhausted: bool = False
    waiting: list[_Waiting] = field(default_factory=list)  # a heap by not-before time
    due: deque[_Waiting] = field(default_factory=deque)
    in_flight: dict[Future[Attempt], _Waiting] = field(default_factory=dict)
    completed: queue.SimpleQueue[Future[Attempt]] = field(default_factory=queue.SimpleQueue)
    fatal: Finished | None = None
    seq: int = 0

    def run(
        self, pool: ThreadPoolExecutor, progress_interval: float, report: Callable[[Progress], None]
    ) -> Iterator[Finished]:
        last_report, reported_done = self.clock(), -1
        while True:
            self.submit_due(pool)
            if not self.in_flight and self.finished():
                break
            for future in self.collect(progress_interval):
                finished = self.settle(future)
                if finished is not None:
                    yield finished
            if self.clock() - last_report >= progress_interval:
                report(self.progress)
                last_report, reported_done = self.clock(), self.progress.done
        if reported_done != self.progress.done:  # the final line, unless it was just printed
            report(self.progress)

    def submit_due(self, pool: ThreadPoolExecutor) -> None:
        """Start attempts while there is room: re-queued retries that are due first, then new tasks (after
        ``before_send``: what was answered is safe before its slot is reused)."""
        if self.before_send is not None and len(self.in_flight) < self.limit():
            self.before_send()
        now = self.clock()
        while self.waiting and self.waiting[0].not_before <= now:
            self.due.append(heapq.heappop(self.waiting))
        while self.fatal is None and not self.stop.is_set() and len(self.in_flight) < self.limit():
            entry = self.next_entry(now)
            if entry is None:
                break
            entry.attempts += 1
            future = pool.submit(self.attempt, entry.task)
            self.in_flight[future] = entry
            future.add_done_callback(self.completed.put)  # one cheap hand-off per call, whatever is in flight

    def next_entry(self, now: float) -> _Waiting | None:
        if self.due:
            return self.due.popleft()
        task = None if self.exhausted else next(self.source, None)
        if task is None:
            self.exhausted = True
            return None
        self.seq += 1
        return _Waiting(now, self.seq, task, 0, 0.0, now)

    def finished(self) -> bool:
        """Nothing in flight: raise if the batch was stopped, say whether all is done."""
        if self.fatal is not None:
            raise FatalBatchError(self.fatal.error or RuntimeError("fatal"), self.fatal)
        pending = bool(self.waiting or self.due or not self.exhausted)
        if self.stop.is_set() and pending:
            raise BatchStopped("stopped before every image was sent")
        return not pending

    def collect(self, progress_interval: float) -> list[Future[Attempt]]:
        """The attempts that finish within the progress interval, or before the first back-off is due."""
        until_due = self.waiting[0].not_before - self.clock() if self.waiting else progress_interval
        timeout = max(0.0, min(progress_interval, until_due))
        if not self.in_flight:  # only back-offs pending: sleep until the first is due
            time.sleep(timeout if self.waiting else 0.0)
            return []
        try:
            done = [self.completed.get(timeout=timeout)]
        except queue.Empty:
            return []
        while True:
            try:
                done.append(self.completed.get_nowait())
            except queue.Empty:
                return done

    def settle(self, future: Future[Attempt]) -> Finished | None:
        """A finished attempt: re-queued when its error is retried, else counted and returned (held back when
        it stops the batch)."""
        entry = self.in_flight.pop(future)
        response, error, _latency = future.result()
        if error is not None and self.fatal is None and not self.stop.is_set():
            delay = self.policy.next_delay(entry.attempts, entry.waited, error)
            if delay is not None:
                entry.waited += delay
                entry.not_before = self.clock() + delay
                heapq.heappush(self.waiting, entry)
                return None
        finished = Finished(entry.task, response=response, error=error, attempts=entry.attempts)
        finished.elapsed_ms = round((self.clock() - entry.started) * 1000, 1)
        self.progress.add(error)
        if error is not None and self.is_fatal(error):
            self.fatal = self.fatal or finished
            return None
        return finished

    def attempt(self, task: ImageTask) -> Attempt:
        started = self.clock()
        try:
            return self.process(task), None, self.clock() - started
        except (VlocrError, OSError, ValueError) as exc:
            return None, exc, self.clock() - started
        except Exception as exc:  # an unexpected failure still ends as this item's error
            log.exception("unexpected error on %s", task.source)
            return None, exc, self.clock() - started
