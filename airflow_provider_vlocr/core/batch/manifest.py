"""What a batch tells its caller: the summary (counts and rates, no personal data), the count per outcome with the
billed calls, and the failure verdict of the task's failure policy."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .items import Item, ItemOutcome, outcome_of
from .progress import Progress

REVIEW_CAP = 50  # images listed for review in the summary; the count covers them all


@dataclass
class Tally:
    """Items counted as they leave the batch: by outcome, the billed calls, and what needs a person's eyes
    (doubtful fields, error-level findings, escalations the cloud refused, failed images), listed up to
    ``REVIEW_CAP`` by source with field and reason, never a value."""

    outcomes: Counter[str] = field(default_factory=Counter)
    billed: int = 0
    doubtful: int = 0  # images with a field in doubt
    escalated: int = 0  # images the hybrid engine asked the cloud about
    cloud_errors: int = 0  # ... and the cloud refused
    needs_review: int = 0
    review: list[dict[str, Any]] = field(default_factory=list)
    review_items: list[Item] = field(default_factory=list, repr=False)  # the same, whole, for the review report

    def add(self, item: Item) -> None:
        outcome = outcome_of(item)
        self.outcomes[outcome.value] += 1
        self.billed += bool(item.get("billed")) and outcome is ItemOutcome.OK
        self.doubtful += bool(item.get("doubtful_fields"))
        escalation: dict[str, Any] = dict(item.get("escalation") or {})
        self.escalated += bool(escalation)
        self.cloud_errors += escalation.get("outcome") == "cloud_error"
        reasons = review_reasons(item)
        if reasons:
            self.needs_review += 1
            if len(self.review) < REVIEW_CAP:
                self.review.append({"source": item.get("source"), "id": item.get("id"), "reasons": reasons})
                self.review_items.append(item)

    def manifest(self) -> dict[str, Any]:
        """The counts for the summary (outcomes apart)."""
        return {
            "doubtful": self.doubtful, "escalated": self.escalated, "cloud_errors": self.cloud_errors,
            "needs_review": self.needs_review, "review": self.review,
            "review_truncated": self.needs_review > len(self.review),
        }  # fmt: skip


def review_reasons(item: Item) -> list[dict[str, Any]]:
    """Why an item needs a person: ``{"field", "reason"}`` pairs (names and codes only, no personal data)."""
    reasons: list[dict[str, Any]]
    if item.get("status") == "error":
        error: dict[str, Any] = dict(item.get("error") or {})
        return [{"field": None, "reason": f"failed: {error.get('code') or error.get('type')}"}]
    confidence = item.get("field_confidence") or {}
    reasons = [{"field": name, "reason": f"doubtful ({confidence.get(name, 0.0):.2f})"}
               for name in item.get("doubtful_fields") or []]  # fmt: skip
    record: dict[str, Any] = dict(item.get("record") or {})
    reasons += [{"field": finding.get("field"), "reason": finding.get("code")}
                for finding in record.get("findings") or [] if finding.get("severity") == "error"]  # fmt: skip
    escalation: dict[str, Any] = dict(item.get("escalation") or {})
    if escalation.get("outcome") == "cloud_error":
        reasons.append({"field": None, "reason": f"cloud refused the escalation: {escalation.get('error')}"})
    return reasons


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
