"""The batch pipeline: items -> load (URL routing, download, storage read) -> check -> engine -> outcome records.

Yields one plain-JSON record per input item, in input order: ``ok`` with the API-shaped result, or ``error``
naming the item and the rule broken. Items recorded ``ok`` by an earlier try are passed through (``resumed``);
the same image twice in a batch is recognised once (the repeat names the first in ``duplicate_of``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..engines.base import RecognitionEngine
from ..models import OcrResponse, RecognizeOptions
from .inputs import parse_images
from .loading import ImageLoader
from .runner import FatalBatchError, ImageTask, Outcome, Progress, run_batch

Record = dict[str, Any]


@dataclass
class BatchRun:
    """One run of the pipeline: iterate it for the records; ``progress`` has the running totals."""

    records: Iterator[Record]
    progress: Progress
    engine: str

    def __iter__(self) -> Iterator[Record]:
        return self.records

    def failure_verdict(self, on_error: str, max_error_ratio: float) -> str | None:
        """Why the task must fail per its failure policy, else ``None`` (see :func:`failure_verdict`)."""
        return failure_verdict(self.summary(), on_error, max_error_ratio, self.progress.retryable_errors)

    def summary(self, **extra: Any) -> dict[str, Any]:
        """Counts and rates for XCom and the task log (no personal data)."""
        p = self.progress
        return {
            "total": p.total,
            "ok": p.done - p.errors,
            "error": p.errors,
            "resumed": p.skipped,
            "error_codes": dict(p.error_codes),
            "duration_s": round(p.elapsed, 3),
            "images_per_second": round(p.rate, 3),
            "engine": self.engine,
            **extra,
        }


@dataclass(frozen=True)
class BatchSettings:
    """How to run a batch (plain values; the operator's arguments after checking)."""

    options: RecognizeOptions = field(default_factory=RecognizeOptions)
    max_concurrency: int = 4
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
) -> BatchRun:
    """Run ``images`` through ``engine``; see the module docstring. A fatal error (``settings.fatal_errors``)
    raises :class:`FatalBatchError` from the iteration."""
    previous = previous or {}
    parsed = list(parse_images(images, settings.options.side))
    tasks = [entry for entry in parsed if isinstance(entry, ImageTask)]
    keys = occurrence_keys(tasks)
    todo = [task for task in tasks if keys[task.index] not in previous]
    duplicate_of = duplicates(todo)
    unique = [task for task in todo if task.index not in duplicate_of]
    progress = Progress(total=len(parsed))

    def process(task: ImageTask) -> OcrResponse:
        options = settings.options.model_copy(update={"side": task.side}) if task.side else settings.options
        loaded = loader.load(task)
        if isinstance(loaded, str):
            return engine.recognize(url=loaded, options=options, image_name=task.source)
        return engine.recognize(image=loaded, options=options, image_name=task.source)

    def records() -> Iterator[Record]:
        outcomes = run_batch(
            unique,
            process,
            total=len(unique),
            max_concurrency=settings.max_concurrency,
            is_fatal=lambda error: isinstance(error, settings.fatal_errors),
            progress=progress,
            progress_interval=settings.progress_interval,
            report=report,
        )
        firsts: dict[int, tuple[Record, BaseException | None]] = {}
        repeated = set(duplicate_of.values())
        for entry in parsed:  # input order: bad items, resumed records, repeats and new outcomes interleaved
            if not isinstance(entry, ImageTask):
                progress.add(entry)
                yield error_record(entry.image, entry.image, None, None, entry)
            elif keys[entry.index] in previous:
                progress.add(skipped=True)
                yield previous[keys[entry.index]]
            elif entry.index in duplicate_of:
                first, error = firsts[duplicate_of[entry.index]]
                progress.add(error)
                copy = json.loads(json.dumps(first))
                copy.update(source=entry.source, id=entry.id, key=keys[entry.index], duplicate_of=first["key"])
                yield copy
            else:
                outcome = next(outcomes)
                record = outcome_record(outcome, keys[entry.index])
                if entry.index in repeated:
                    firsts[entry.index] = (json.loads(json.dumps(record)), outcome.error)
                yield record
        for _ in outcomes:  # runs the runner to its end (final progress line)
            pass

    return BatchRun(records(), progress, engine.name)


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
        return error_record(task.source, task.id, key, task.side, outcome.error, outcome.elapsed_ms)
    response = outcome.response
    return {
        "source": task.source,
        "id": task.id,
        "key": key,
        "side": task.side,
        "status": "ok",
        "result": response.result.to_api_dict(),
        "request_id": response.request_id,
        "engine": response.engine,
        "attempts": response.attempts,
        "elapsed_ms": outcome.elapsed_ms,
    }


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
