"""The one way a billed call is made: look up the result cache, reserve a unit of the budget, call, commit or
release, write the cache. Used by the pipeline for every billed engine and by the hybrid engine for its cloud
calls, so "never pay twice" is written once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import BudgetExhaustedError
from ..models import OcrResponse, RecognizeOptions
from .budget import CallBudget
from .cache import ResultCache


@dataclass(frozen=True)
class MeteredCall:
    """A batch's cache and budget (either may be ``None``: no caching, no cap)."""

    cache: ResultCache | None = None
    budget: CallBudget | None = None

    def cache_key(self, image: bytes | str, engine: str, options: RecognizeOptions) -> str | None:
        """The cache key of an image's bytes for ``engine`` and the answer-changing options; URLs have none."""
        if self.cache is None or not isinstance(image, bytes):
            return None
        return self.cache.key(image, engine, options)

    def cached(self, key: str | None) -> dict[str, Any] | None:
        """The cache entry stored under ``key``, if any."""
        return self.cache.get(key) if self.cache is not None and key else None

    def call(
        self,
        send: Callable[[], OcrResponse],
        *,
        image_name: str,
        key: str | None,
        entry: Callable[[OcrResponse], dict[str, Any]],
        billed: bool = True,
    ) -> OcrResponse:
        """``send()`` within the budget (a billed call reserves a unit first: :class:`BudgetExhaustedError` when
        it is spent, and nothing is sent); commit on an answer, release on a failure; cache ``entry(answer)``."""
        budget = self.budget if billed else None
        if budget is not None and not budget.reserve():
            raise BudgetExhaustedError(image_name, budget.limit)
        try:
            response = send()
        except BaseException:
            if budget is not None:
                budget.release()
            raise
        if budget is not None:
            budget.commit()
        if self.cache is not None and key:
            self.cache.put(key, entry(response))
        return response
