"""The batch pipeline: inputs -> load (URL routing, download, storage read) -> engine (metered) -> items.

Yields one plain-JSON :class:`~.items.Item` per input as it completes (``index`` is its input position): ``ok`` with
the API-shaped result, or ``error`` naming the input and the rule broken. Inputs recorded ``ok`` by an earlier try
are passed through (``resumed``); the same image twice in a batch is recognised once (the repeat names the first in
``duplicate_of``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from ..backoff import RetryPolicy
from ..engines.base import RecognitionEngine
from ..errors import ImageValidationError
from ..models import OcrResponse, RecognizeOptions, VehicleLicenseResult
from .budget import CallBudget
from .cache import ResultCache
from .expand import expand_items
from .inputs import ImageTask, parse_images
from .items import Item, engine_details, error_item
from .loading import ImageLoader
from .manifest import failure_verdict, summary
from .metered import MeteredCall
from .progress import Progress
from .resume import answer_key
from .scheduler import FatalBatchError, Finished, run_batch

SINGLE_ATTEMPT = RetryPolicy(max_attempts=1)  # the engine tries once; the scheduler re-queues retryable failures
AnswerOf = Callable[[ImageTask], str]  # a task -> the answer_key its answer is made under
log = logging.getLogger(__name__)


@dataclass
class BatchRun:
    """One run of the pipeline: iterate it for the items (in completion order; ``index`` is the input position);
    ``progress`` has the running totals; :meth:`stop` ends it early (what was answered is kept)."""

    items: Iterator[Item]
    progress: Progress
    engine: str
    stopped: threading.Event = field(default_factory=threading.Event)

    def __iter__(self) -> Iterator[Item]:
        return self.items

    def stop(self) -> None:
        """Send nothing more; in-flight calls finish and are recorded, then iteration raises ``BatchStopped``."""
        self.stopped.set()

    def failure_verdict(self, on_error: str, max_error_ratio: float) -> str | None:
        """Why the task must fail per its failure policy, else ``None`` (see :func:`.manifest.failure_verdict`)."""
        return failure_verdict(self.summary(), on_error, max_error_ratio, self.progress.retryable_errors)

    def summary(self, **extra: Any) -> dict[str, Any]:
        """Counts and rates for XCom and the task log (no personal data)."""
        return summary(self.progress, self.engine, **extra)


@dataclass(frozen=True)
class BatchSettings:
    """How to run a batch (plain values; the operator's arguments after checking).

    :param concurrency: calls in flight, or a callable read before each submission (adaptive pacing).
    :param retry: how retryable failures are re-queued (the engine itself makes single attempts).
    :param before_send: called before each round of new sends, once the items so far are consumed (the journal
        makes them durable there).
    """

    options: RecognizeOptions = field(default_factory=RecognizeOptions)
    concurrency: int | Callable[[], int] = 4
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    progress_interval: float = 5.0
    fatal_errors: tuple[type[BaseException], ...] = ()
    before_send: Callable[[], None] | None = None


@dataclass(frozen=True)
class BatchPlan:
    """The inputs of a batch, sorted out before anything is sent."""

    parsed: list[ImageTask | ImageValidationError]  # one per input, in input order
    keys: dict[int, str]  # input index -> its key across tries
    resumed: set[int]  # input indexes an earlier try answered under the same engine and options
    unique: list[ImageTask]  # to recognise: not done by an earlier try, not a repeat
    repeats: dict[int, list[ImageTask]]  # index of a task to recognise -> the later inputs of the same image
    stale: int  # earlier answers made under another engine or options: recognised again

    @classmethod
    def make(
        cls, images: Any, loader: ImageLoader, side: str | None, previous: Mapping[str, Item], answer_of: AnswerOf
    ) -> BatchPlan:
        expanded = expand_items(images, local_roots=loader.local_roots, lister=loader.storage_lister)
        parsed = list(parse_images(expanded, side))
        tasks = [entry for entry in parsed if isinstance(entry, ImageTask)]
        keys = occurrence_keys(tasks)
        earlier = [task for task in tasks if keys[task.index] in previous]
        # an item that does not say what it was answered under (written before items said so) is trusted, as then
        resumed = {t.index for t in earlier if previous[keys[t.index]].get("answer_key") in (None, answer_of(t))}
        todo = [task for task in tasks if task.index not in resumed]
        duplicate_of = duplicates(todo)
        repeats: dict[int, list[ImageTask]] = {}
        for task in todo:
            if task.index in duplicate_of:
                repeats.setdefault(duplicate_of[task.index], []).append(task)
        unique = [task for task in todo if task.index not in duplicate_of]
        return cls(parsed, keys, resumed, unique, repeats, stale=len(earlier) - len(resumed))


@dataclass(frozen=True)
class Recognizer:
    """One attempt at one image: load it, answer from the cache or make a metered call."""

    engine: RecognitionEngine
    loader: ImageLoader
    options: RecognizeOptions
    metered: MeteredCall

    answers: dict[str | None, str] = field(default_factory=dict, compare=False)  # per side asked (at most four)

    def options_for(self, task: ImageTask) -> RecognizeOptions:
        return self.options.model_copy(update={"side": task.side}) if task.side else self.options

    def answer_key(self, task: ImageTask) -> str:
        """The identity of ``task``'s answer: this engine and the options it is asked with (once per side)."""
        if task.side not in self.answers:
            self.answers[task.side] = answer_key(self.engine.name, self.options_for(task))
        return self.answers[task.side]

    def __call__(self, task: ImageTask) -> OcrResponse:
        options = self.options_for(task)
        loaded = self.loader.load(task)
        key = self.metered.cache_key(loaded, self.engine.name, options)
        hit = self.metered.cached(key)
        if hit is not None:
            return cached_response(hit, self.engine.name)
        source = {"url": loaded} if isinstance(loaded, str) else {"image": loaded}
        return self.metered.call(
            lambda: self.engine.recognize(**source, options=options, image_name=task.source, retry=SINGLE_ATTEMPT),
            image_name=task.source,
            key=key,
            entry=cache_entry,
            billed=self.engine.billed,  # an engine that bills per call (hybrid) meters its own calls
        )


def recognize_batch(
    images: Any,
    engine: RecognitionEngine,
    loader: ImageLoader,
    settings: BatchSettings,
    *,
    previous: Mapping[str, Item] | None = None,
    report: Callable[[Progress], None] | None = None,
    cache: ResultCache | None = None,
    budget: CallBudget | None = None,
) -> BatchRun:
    """Run ``images`` through ``engine``; see the module docstring. A fatal error (``settings.fatal_errors``)
    raises :class:`FatalBatchError` from the iteration. ``cache`` answers images seen before (not billed);
    ``budget`` caps billed calls (an image over it ends as a ``budget`` item, not sent)."""
    previous = previous or {}
    engine = engine.for_batch(budget=budget, cache=cache)
    recognizer = Recognizer(engine, loader, settings.options, MeteredCall(cache, budget))
    plan = BatchPlan.make(images, loader, settings.options.side, previous, recognizer.answer_key)
    if plan.stale:
        log.warning("%d earlier answer(s) were made under another engine or API options: recognised again", plan.stale)
    progress = Progress(total=len(plan.parsed))
    stopped = threading.Event()
    finished = run_batch(
        plan.unique,
        recognizer,
        total=len(plan.unique),
        max_concurrency=settings.concurrency,
        retry=settings.retry,
        is_fatal=lambda error: isinstance(error, settings.fatal_errors),
        progress=progress,
        progress_interval=settings.progress_interval,
        report=report,
        stop=stopped,
        before_send=settings.before_send,
    )

    def items() -> Iterator[Item]:
        try:
            yield from known_items(plan, previous, progress)
            for done in finished:
                yield from finished_items(done, plan, progress, engine.billed, recognizer.answer_key(done.task))
        finally:
            loader.policy.pool.close()  # kept-alive download connections end with the batch

    return BatchRun(items(), progress, engine.name, stopped)


def known_items(plan: BatchPlan, previous: Mapping[str, Item], progress: Progress) -> Iterator[Item]:
    """The items known before anything is sent: bad inputs, and inputs an earlier try recorded ``ok``."""
    for position, entry in enumerate(plan.parsed):
        if not isinstance(entry, ImageTask):
            progress.add(entry)
            yield cast(Item, {"index": position, **error_item(entry.image, entry.image, None, None, entry)})
        elif entry.index in plan.resumed:
            progress.add(skipped=True)
            yield cast(Item, {**previous[plan.keys[entry.index]], "index": entry.index, "resumed": True})


def finished_items(
    done: Finished, plan: BatchPlan, progress: Progress, billed_engine: bool, answer: str
) -> Iterator[Item]:
    """The item of a recognised (or failed) image, then one for each later input of the same image."""
    item = finished_item(done, plan.keys[done.task.index])
    item["answer_key"] = answer
    answered_billed = done.response is not None and done.response.billed
    if item["status"] == "ok" and not item.get("cached") and (answered_billed or billed_engine):
        item["billed"] = True
    yield item
    for repeat in plan.repeats.get(done.task.index, ()):
        progress.add(done.error)
        copy = cast(Item, json.loads(json.dumps(item)))
        copy.update({"source": repeat.source, "id": repeat.id, "key": plan.keys[repeat.index], "index": repeat.index})
        copy["duplicate_of"] = item.get("key")
        copy.pop("billed", None)
        yield copy


def finished_item(done: Finished, key: str) -> Item:
    """The item of one recognised (or failed) image."""
    task = done.task
    if done.response is None:
        failed = error_item(task.source, task.id, key, task.side, done.error, done.elapsed_ms)
        return cast(Item, {"index": task.index, **failed, "attempts": done.attempts})
    response = done.response
    return cast(Item, {
        "index": task.index,
        "source": task.source,
        "id": task.id,
        "key": key,
        "side": task.side or response.side,  # the side asked, else the page the engine detected
        "status": "ok",
        "result": response.result.to_api_dict(),
        "request_id": response.request_id,
        "engine": response.engine,
        "attempts": done.attempts,
        "elapsed_ms": done.elapsed_ms,
        **engine_details(response),
        **({"cached": True} if response.cached else {}),
    })


def cached_response(hit: dict[str, Any], engine: str) -> OcrResponse:
    """The response a cache entry stands for (not billed)."""
    return OcrResponse(
        result=VehicleLicenseResult.model_validate(hit["result"]),
        request_id=hit.get("request_id"),
        engine=engine,
        cached=True,
        field_confidence=hit.get("field_confidence") or {},
        doubtful_fields=hit.get("doubtful_fields") or [],
        field_engines=hit.get("field_engines") or {},
        escalation=hit.get("escalation"),
        image_quality=hit.get("image_quality"),
    )


def cache_entry(response: OcrResponse) -> dict[str, Any]:
    """What the result cache keeps of an answer."""
    return {"result": response.result.to_api_dict(), "request_id": response.request_id, **engine_details(response)}


def occurrence_keys(tasks: list[ImageTask]) -> dict[int, str]:
    """A stable key per task: its id plus the occurrence number of that id (ids may repeat)."""
    seen: dict[str, int] = {}
    keys = {}
    for task in tasks:
        seen[task.id] = seen.get(task.id, 0) + 1
        keys[task.index] = f"{task.id}#{seen[task.id]}"
    return keys


def duplicates(tasks: list[ImageTask]) -> dict[int, int]:
    """Index of each task that repeats an earlier one (same source and side) -> index of that first one."""
    first: dict[tuple[str, str, str | None], int] = {}
    repeats: dict[int, int] = {}
    for task in tasks:
        value = task.value if isinstance(task.value, str) else hashlib.sha256(task.value).hexdigest()
        identity = (task.kind, value, task.side)
        if identity in first:
            repeats[task.index] = first[identity]
        else:
            first[identity] = task.index
    return repeats


__all__ = ["BatchRun", "BatchSettings", "FatalBatchError", "failure_verdict", "recognize_batch"]
