"""Shaping a batch's items as they leave the task: a validated record per ok item (when asked), merged vehicles,
personal data redacted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ...licence.pairing import pair_pages
from ...licence.pii import redact
from ...licence.rules import confidence_of, to_record
from .resume import shaped_as


@dataclass
class ItemShaper:
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
    def for_task(cls, context: Any, records: bool, merge_pages: bool, redact_pii: str, salt: str) -> ItemShaper:
        """For a task: inspections judged on the run's date, new items stamped with the try number."""
        return cls(records, merge_pages, redact_pii, salt, run_date(context), try_number_of(context))

    def shape(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """The item with its record (when asked), redacted, saying how it was shaped (an earlier try's item that
        was shaped otherwise comes ``reshaped``, its old record removed)."""
        shaped = dict(item) if item.get("resumed") else {**item, "try_number": self.try_number}
        if shaped.get("status") == "ok" and "result" in shaped:
            if self.merge_pages:
                self.pages.append((shaped["source"], shaped.get("side"), shaped["result"]))
                self.confidence[shaped["source"]] = confidence_of(shaped)
            if self.records and "record" not in shaped:
                shaped["record"] = to_record(shaped, as_of=self.as_of).model_dump(mode="json")
        shaped["shaped_as"] = shaped_as(self.records, self.redact_pii)
        redacted: dict[str, Any] = redact(shaped, self.redact_pii, salt=self.salt)
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
            entry = {"plate": vehicle.plate, "sources": vehicle.sources, "paired": vehicle.paired, "record": record}
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
