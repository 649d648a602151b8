"""The batch pipeline: items -> load (URL routing, download, storage read) -> check -> engine -> outcome records.

Yields one plain-JSON record per input item as it completes (``index`` is its input position): ``ok`` with the
API-shaped result, or ``error`` naming the item and the rule broken. Items recorded ``ok`` by an earlier try are
passed through (``resumed``); the same image twice in a batch is recognised once (the repeat names the first in
``duplicate_of``).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..engines.base import RecognitionEngine
from ..errors import BudgetExhaustedError
from ..models import OcrResponse, RecognizeOptions, VehicleLicenseResult
from ..retry import RetryPolicy
from .budget import CallBudget
from .cache import ResultCache
from .expand import expand_items
from .inputs import parse_images
from .loading import ImageLoader
from .runner import FatalBatchError, ImageTask, Outcome, Progress, run_batch

Record = dict[str, Any]
SINGLE_ATTEMPT = RetryPolicy(max_attempts=1)  # the engine tries once; the runner re-queues retryable failures


@dataclass
class BatchRun:
    """One run of the pipeline: iterate it for the records (in completion order; ``index`` is the input
    position); ``progress`` has the running totals; :meth:`stop` ends it early (what was answered is kept)."""

    records: Iterator[Record]
    progress: Progress
    engine: str
    stopped: threading.Event = field(default_factory=threading.Event)

    def __iter__(self) -> Iterator[Record]:
        return self.records

    def stop(self) -> None:
        """Send nothing more; in-flight calls finish and are recorded, then iteration raises ``BatchStopped``."""
        self.stopped.set()

    def failure_verdict(self, on_error: str, max_error_ratio: float) -> str | None:
        """Why the task must fail per its failure policy, else ``None`` (see :func:`failure_verdict`)."""
        return failure_verdict(self.summary(), on_error, max_error_ratio, self.progress.retryable_errors)

    def summary(self, **extra: Any) -> dict[str, Any]:
        """Counts and rates for XCom and the task log (no personal data)."""
        p = self.progress
        return {
            "total": p.total,
            "ok": p.done - p.errors - p.budget_skipped,
            "error": p.errors,
            "resumed": p.skipped,
            "budget_skipped": p.budget_skipped,
            "error_codes": dict(p.error_codes),
            "duration_s": round(p.elapsed, 3),
            "images_per_second": round(p.rate, 3),
            "engine": self.engine,
            **extra,
        }


@dataclass(frozen=True)
class BatchSettings:
    """How to run a batch (plain values; the operator's arguments after checking).

    :param concurrency: calls in flight, or a callable read before each submission (adaptive pacing).
    :param retry: how retryable failures are re-queued (the engine itself makes single attempts).
    """

    options: RecognizeOptions = field(default_factory=RecognizeOptions)
    concurrency: int | Callable[[], int] = 4
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    progress_interval: float = 5.0
    fatal_errors: tuple[type[BaseException], ...] = ()


def recognize_batch(
    images: Any,
    engine: RecognitionEngine,
    loader: ImageLoader,
    settings: BatchSettings,
    *,
    previous: Mapping[str, Record] | None = None,
    report: Callable[[Progress], None] | None = None,
    cache: ResultCache | None = None,
    budget: CallBudget | None = None,
) -> BatchRun:
    """Run ``images`` through ``engine``; see the module docstring. A fatal error (``settings.fatal_errors``)
    raises :class:`FatalBatchError` from the iteration. ``cache`` answers images seen before (not billed);
    ``budget`` caps billed calls (an image over it ends as a ``budget`` record, not sent)."""
    previous = previous or {}
    images = expand_items(images, local_roots=loader.local_roots, lister=loader.storage_lister)
    parsed = list(parse_images(images, settings.options.side))
    tasks = [entry for entry in parsed if isinstance(entry, ImageTask)]
    keys = occurrence_keys(tasks)
    todo = [task for task in tasks if keys[task.index] not in previous]
    duplicate_of = duplicates(todo)
    repeats: dict[int, list[ImageTask]] = {}
    for task in todo:
        if task.index in duplicate_of:
            repeats.setdefault(duplicate_of[task.index], []).append(task)
    unique = [task for task in todo if task.index not in duplicate_of]
    progress = Progress(total=len(parsed))
    stopped = threading.Event()

    billed = bool(getattr(engine, "billed", False))
    for_batch = getattr(engine, "for_batch", None)
    if callable(for_batch):  # an engine that bills per call (hybrid) holds the budget and cache itself
        engine = for_batch(budget=budget, cache=cache)

    def process(task: ImageTask) -> OcrResponse:
        options = settings.options.model_copy(update={"side": task.side}) if task.side else settings.options
        loaded = loader.load(task)
        key = cache.key(loaded, engine.name, options) if cache is not None and isinstance(loaded, bytes) else None
        hit = cache.get(key) if cache is not None and key else None
        if hit is not None:
            result = VehicleLicenseResult.model_validate(hit["result"])
            return OcrResponse(
                result=result,
                request_id=hit.get("request_id"),
                engine=engine.name,
                cached=True,
                field_confidence=hit.get("field_confidence") or {},
                doubtful_fields=hit.get("doubtful_fields") or [],
                field_engines=hit.get("field_engines") or {},
                escalation=hit.get("escalation"),
            )
        reserved = budget is not None and billed
        if reserved and not budget.reserve():  # type: ignore[union-attr]
            raise BudgetExhaustedError(task.source, budget.limit)  # type: ignore[union-attr]
        try:
            source = {"url": loaded} if isinstance(loaded, str) else {"image": loaded}
            response = engine.recognize(**source, options=options, image_name=task.source, retry=SINGLE_ATTEMPT)
        except BaseException:
            if reserved:
                budget.release()  # type: ignore[union-attr]
            raise
        if reserved:
            budget.commit()  # type: ignore[union-attr]
        if cache is not None and key:
            cache.put(key, {"result": response.result.to_api_dict(), "request_id": response.request_id,
                            **engine_details(response)})  # fmt: skip
        return response

    def records() -> Iterator[Record]:
        try:
            yield from each_record()
        finally:
            loader.policy.pool.close()  # kept-alive download connections end with the batch

    def each_record() -> Iterator[Record]:
        for position, entry in enumerate(parsed):  # known at once: bad items, records of an earlier try
            if not isinstance(entry, ImageTask):
                progress.add(entry)
                yield {"index": position, **error_record(entry.image, entry.image, None, None, entry)}
            elif keys[entry.index] in previous:
                progress.add(skipped=True)
                yield {**previous[keys[entry.index]], "index": entry.index, "resumed": True}
        outcomes = run_batch(
            unique,
            process,
            total=len(unique),
            max_concurrency=settings.concurrency,
            retry=settings.retry,
            is_fatal=lambda error: isinstance(error, settings.fatal_errors),
            progress=progress,
            progress_interval=settings.progress_interval,
            report=report,
            stop=stopped,
        )
        for outcome in outcomes:
            record = outcome_record(outcome, keys[outcome.task.index])
            answered_billed = outcome.response is not None and outcome.response.billed
            if record["status"] == "ok" and not record.get("cached") and (answered_billed or billed):
                record["billed"] = True
            yield record
            for repeat in repeats.get(outcome.task.index, ()):
                progress.add(outcome.error)
                copy = json.loads(json.dumps(record))
                copy.update(source=repeat.source, id=repeat.id, key=keys[repeat.index], index=repeat.index)
                copy["duplicate_of"] = record["key"]
                copy.pop("billed", None)
                yield copy

    return BatchRun(records(), progress, engine.name, stopped)


def outcome_bucket(record: Record) -> str:
    """Which manifest count a record falls in: ok, resumed, cached, budget, invalid_input, transient, failed."""
    if record.get("resumed"):
        return "resumed"
    if record.get("status") == "ok":
        return "cached" if record.get("cached") else "ok"
    error = record.get("error") or {}
    if error.get("code") == "budget":
        return "budget"
    if error.get("type") in ("ImageValidationError", "DownloadError"):
        return "invalid_input"
    return "transient" if error.get("retryable") else "failed"


def failure_verdict(summary: dict[str, Any], on_error: str, max_error_ratio: float, transient: int) -> str | None:
    """Why the task must fail (``on_error="fail"`` and any error, or more than ``max_error_ratio`` failed), else
    ``None``. With ``transient`` failures among them the message says Airflow's retries may help."""
    errors, total = summary["error"], summary["total"]
    ratio = errors / total if total else 0.0
    if not errors or (on_error == "continue" and ratio <= max_error_ratio):
        return None
    message = (
        f"{errors} of {total} image(s) failed ({ratio:.0%}; on_error={on_error!r}, "
        f"max_error_ratio={max_error_ratio}): {summary['error_codes']}"
    )
    return message + ("; some were transient, so Airflow's retries may help" if transient else "")


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


def outcome_record(outcome: Outcome, key: str) -> Record:
    """The record of one recognised (or failed) item."""
    task = outcome.task
    if outcome.response is None:
        record = error_record(task.source, task.id, key, task.side, outcome.error, outcome.elapsed_ms)
        return {"index": task.index, **record, "attempts": outcome.attempts}
    response = outcome.response
    return {
        "index": task.index,
        "source": task.source,
        "id": task.id,
        "key": key,
        "side": task.side,
        "status": "ok",
        "result": response.result.to_api_dict(),
        "request_id": response.request_id,
        "engine": response.engine,
        "attempts": outcome.attempts,
        "elapsed_ms": outcome.elapsed_ms,
        **engine_details(response),
        **({"cached": True} if response.cached else {}),
    }


def engine_details(response: OcrResponse) -> dict[str, Any]:
    """What a local or hybrid engine adds beside the result (per-field confidence, doubtful fields, which engine
    produced each field, the escalation), for items and cache entries; nothing for the cloud engine."""
    details: dict[str, Any] = {}
    if response.field_confidence:
        details.update(field_confidence=response.field_confidence, doubtful_fields=response.doubtful_fields)
    if response.field_engines:
        details["field_engines"] = response.field_engines
    if response.escalation is not None:
        details["escalation"] = response.escalation.model_dump(mode="json", exclude_none=True)
    return details


def error_record(
    source: str, item_id: str, key: str | None, side: str | None, error: BaseException | None, elapsed_ms: float = 0.0
) -> Record:
    """The record of an item that failed: the error's type, rule or API code, message and retryability."""
    return {
        "source": source,
        "id": item_id,
        "key": key,
        "side": side,
        "status": "error",
        "error": error_dict(error),
        "request_id": getattr(error, "request_id", None),
        "elapsed_ms": elapsed_ms,
    }


def error_dict(error: BaseException | None) -> dict[str, Any]:
    """A JSON-friendly error description that names the image."""
    to_dict = getattr(error, "to_dict", None)
    if callable(to_dict):
        described: dict[str, Any] = to_dict()
        return described
    return {
        "type": type(error).__name__,
        "status": None,
        "code": getattr(error, "rule", None),
        "message": str(error),
        "request_id": None,
        "retryable": bool(getattr(error, "retryable", False)),
    }


__all__ = ["BatchRun", "BatchSettings", "FatalBatchError", "recognize_batch"]
