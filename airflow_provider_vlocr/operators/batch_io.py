"""Where a task's batch keeps its state: the journal (``output_path``), the result cache (``cache_path``) and the
billed-call budget (``max_billed_calls``), which holds across retries through the journal and, on Airflow 3.3+,
the task state store. Airflow-side wiring only; the logic is in ``core.batch``."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from ..core.batch.budget import CallBudget
from ..core.batch.cache import ResultCache
from ..core.batch.items import Item
from ..core.batch.journal import Journal, write_items
from ..core.batch.manifest import Tally
from ..core.batch.shaping import try_number_of
from .object_storage import ObjectStorage

SPENT_KEY = "vlocr_billed_calls"  # billed calls so far, in the task state store (a cursor, never a list)


@dataclass
class BatchState:
    """The journal, cache and budget of one try, opened on ``stack``."""

    journal: Journal | None
    cache: ResultCache | None
    budget: CallBudget | None
    store: Any = None
    previous: dict[str, Item] = field(default_factory=dict)
    spent_before: int = 0
    try_number: int = 1
    billed_now: int = 0

    @classmethod
    def open(
        cls,
        context: Any,
        stack: ExitStack,
        *,
        output_path: str | None,
        cache_path: str | None,
        max_billed: int | None,
        obs_conn_id: str | None = None,
    ) -> BatchState:
        storage = ObjectStorage(obs_conn_id)
        try_number = try_number_of(context)
        journal = Journal(output_path, storage, try_number=try_number) if output_path else None
        store = _state_store(context)
        previous, billed = journal.scan() if journal is not None else ({}, {})
        spent = max(
            sum(billed.values()),
            int(store.get(SPENT_KEY) or 0) if store is not None else 0,
        )
        state = cls(
            journal=journal,
            cache=ResultCache(cache_path, storage) if cache_path else None,
            budget=CallBudget(max_billed, spent) if max_billed is not None else None,
            store=store,
            previous=previous,
            spent_before=spent,
            try_number=try_number,
        )
        if journal is not None:
            stack.callback(journal.open().close)
        stack.callback(state.save_spent)
        return state

    def write(self, items: Any) -> tuple[list[Item], Tally]:
        """Journal (or collect) the items as they complete; count them (per outcome, for review)."""
        tally = Tally()
        collected = write_items(items, self.journal, tally.add)
        self.billed_now = tally.billed
        return collected, tally

    def save_spent(self) -> None:
        """Keep the billed total in the task state store, so the budget holds on the next try."""
        if self.store is not None and self.billed_now:
            self.store.set(SPENT_KEY, self.spent_before + self.billed_now)

    def finish(self, tally: Tally) -> dict[str, Any]:
        """Write the final output; the manifest: counts per outcome and for review, billed calls per try, the
        results' URI."""
        manifest: dict[str, Any] = {
            "outcomes": dict(tally.outcomes), **tally.manifest(), "billed": self.billed_now,
            "try_number": self.try_number,
        }  # fmt: skip
        if self.budget is not None:
            manifest["budget"] = {"max_billed_calls": self.budget.limit, "spent": self.budget.spent}
        if self.journal is not None:
            self.journal.finish()
            manifest.update(billed_per_try=self.journal.billed_per_try(), results=self.journal.output)
        return manifest


def _state_store(context: Any) -> Any:
    """``context["task_state_store"]`` (Airflow 3.3+), else ``None``."""
    try:
        return context["task_state_store"]
    except (KeyError, TypeError):
        return None
