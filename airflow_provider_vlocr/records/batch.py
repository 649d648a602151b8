"""Records for a batch's items: a validated record per ok item, merged vehicles, personal data redacted."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from .build import confidence_of, to_record
from .pairing import pair_pages
from .pii import redact


@dataclass
class BatchRecords:
    """Shapes each item as it leaves the task.

    :param records: add a validated ``record`` to every ok item.
    :param merge_pages: remember each ok page, so :meth:`vehicles` can pair fronts and backs afterwards.
    :param redact_pii: ``none``, ``mask`` or ``hash`` owner names and addresses (``salt`` for ``hash``).
    :param as_of: the date ``inspection_expired`` is judged on.
    """

    records: bool = False
    merge_pages: bool = False
    redact_pii: str = "none"
    salt: str = field(default="", repr=False)
    as_of: date = field(default_factory=date.today)
    try_number: int = 1
    pages: list[tuple[str, str | None, dict[str, Any]]] = field(default_factory=list, repr=False)
    confidence: dict[str, tuple[dict[str, float], list[str]]] = field(default_factory=dict, repr=False)

    @classmethod
    def for_task(cls, context: Any, records: bool, merge_pages: bool, redact_pii: str, salt: str) -> BatchRecords:
        """For a task: inspections judged on the run's date, new items stamped with the try number."""
        return cls(records, merge_pages, redact_pii, salt, run_date(context), try_number_of(context))

    def shape(self, item: dict[str, Any]) -> dict[str, Any]:
        """The item with its record (when asked), redacted."""
        if not item.get("resumed"):
            item = {**item, "try_number": self.try_number}
        if item.get("status") == "ok" and "result" in item:
            if self.merge_pages:
                self.pages.append((item["source"], item.get("side"), item["result"]))
                self.confidence[item["source"]] = confidence_of(item)
            if self.records and "record" not in item:
                item = {**item, "record": to_record(item, as_of=self.as_of).model_dump(mode="json")}
        redacted: dict[str, Any] = redact(item, self.redact_pii, salt=self.salt)
        return redacted

    def vehicles(self) -> list[dict[str, Any]]:
        """One merged, validated (and redacted) record per vehicle among the pages seen."""
        out = []
        for vehicle in pair_pages(self.pages):
            scores: dict[str, float] = {}
            doubtful: list[str] = []
            for source in vehicle.sources.values():  # a field on both pages takes the lower confidence
                page_scores, page_doubtful = self.confidence.get(source, ({}, []))
                for name, value in page_scores.items():
                    scores[name] = min(value, scores.get(name, 1.0))
                doubtful += [name for name in page_doubtful if name not in doubtful]
            combined = {"result": vehicle.combined(), "field_confidence": scores, "doubtful_fields": doubtful}
            record = to_record(combined, as_of=self.as_of).model_dump(mode="json")
            entry = {"plate": vehicle.plate, "sources": vehicle.sources, "record": record}
            out.append(redact(entry, self.redact_pii, salt=self.salt))
        return out


def run_date(context: Any) -> date:
    """The date a run judges inspections on: its logical date (or interval end) from a task context, else today."""
    for key in ("logical_date", "data_interval_end"):
        value = context.get(key) if hasattr(context, "get") else None
        if isinstance(value, datetime):
            return value.date()
    return date.today()


def try_number_of(context: Any) -> int:
    """The task instance's try number from a task context (1 outside a task)."""
    ti = context.get("ti") if hasattr(context, "get") else None
    return int(getattr(ti, "try_number", 1) or 1)
