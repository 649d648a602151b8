"""How a batch task fails, by cause, so that a retry policy (``policies.retry``) can tell the causes apart: a spent
quota waits for its window, a passing outage retries, credentials and configuration fail at once."""

from __future__ import annotations

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException


class OcrBatchFailed(AirflowException):
    """The batch broke its failure policy (``on_error``/``max_error_ratio``) with failures that may pass later."""


class OcrQuotaExhausted(OcrBatchFailed):
    """Images were still throttled by the account's quota (APIG.0308, ModelArts.4401) after the in-batch retries:
    the next quota window will take them."""


class OcrServiceUnavailable(OcrBatchFailed):
    """Images failed on a passing outage (5xx, timeouts, resets, a source that did not answer)."""


def batch_failure(verdict: str, *, throttled: int, transient: int) -> AirflowException:
    """The exception a task raises for a failed batch: by its most telling cause. Nothing transient among the
    failures: ``AirflowFailException``, since another try would fail the same images the same way."""
    if throttled:
        return OcrQuotaExhausted(verdict)
    if transient:
        return OcrServiceUnavailable(verdict)
    return AirflowFailException(verdict)
