"""What a batch tells its caller: the summary (counts and rates, no personal data), the count per outcome with the
billed calls, and the failure verdict of the task's failure policy."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .items import Item, ItemOutcome, outcome_of
from .progress import Progress


@dataclass
class Tally:
    """Items counted by outcome as they leave the batch, and the billed calls among them."""

    outcomes: Counter[str] = field(default_factory=Counter)
    billed: int = 0

    def add(self, item: Item) -> None:
        outcome = outcome_of(item)
        self.outcomes[outcome.value] += 1
        self.billed += bool(item.get("billed")) and outcome is ItemOutcome.OK


def summary(progress: Progress, engine: str, **extra: Any) -> dict[str, Any]:
    """Counts and rates for XCom and the task log."""
    p = progress
    return {
        "total": p.total,
        "ok": p.done - p.errors - p.budget_skipped,
        "error": p.errors,
        "resumed": p.skipped,
        "budget_skipped": p.budget_skipped,
        "error_codes": dict(p.error_codes),
        "duration_s": round(p.elapsed, 3),
        "images_per_second": round(p.rate, 3),
        "engine": engine,
        **extra,
    }


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
