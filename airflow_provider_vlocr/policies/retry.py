"""The provider's retry policy (Airflow 3.3+ ``retry_policy``): what another run of an OCR task can and cannot fix.

- The account's quota is spent (APIG.0308 after the in-batch retries): on Airflow 3.4+ the task is *rescheduled*
  for the next quota window without using a retry (``RetryAction.RESCHEDULE``, bounded by ``max_reschedules`` and
  ``reschedule_timeout``; past a bound the normal retries apply); on 3.3 it retries after the window.
- Credentials or configuration are wrong (refused AK/SK or password, no permission, service not enabled, wrong
  region, a missing connection, a bad argument): fail at once, whatever ``retries`` says.
- A passing outage (5xx storms, timeouts, resets, a source that did not answer): retry, with the task's own
  ``retry_delay`` and backoff.
- Anything else: Airflow's standard logic.

Before 3.3 there are no retry policies: :func:`ocr_retry_policy` returns ``None`` and tasks keep the normal retries.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ..core.errors import (
    FATAL_ERRORS,
    DownloadUnavailableError,
    ServiceUnavailableError,
    ThrottledError,
    TransportError,
)
from .failures import OcrQuotaExhausted, OcrServiceUnavailable

if TYPE_CHECKING:
    from airflow.sdk.definitions.retry_policy import RetryPolicy

QUOTA_WINDOW = timedelta(minutes=1)  # APIG.0308: "limit:XX,time:1 minute"


def retry_policies_supported() -> bool:
    """Airflow 3.3+ takes a task's ``retry_policy``."""
    from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_3_PLUS

    return AIRFLOW_V_3_3_PLUS


def reschedule_supported() -> bool:
    """Airflow 3.4+ can reschedule a failed task without using a retry (``RetryAction.RESCHEDULE``)."""
    from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_4_PLUS

    return AIRFLOW_V_3_4_PLUS


def ocr_retry_policy(
    *,
    quota_delay: timedelta = QUOTA_WINDOW,
    max_reschedules: int = 30,
    reschedule_timeout: timedelta = timedelta(hours=2),
) -> RetryPolicy | None:
    """The policy described above, for this Airflow; ``None`` before 3.3.

    :param quota_delay: how long a task whose quota was spent waits before it runs again (the quota's window).
    :param max_reschedules: at most this many reschedules of one try (Airflow 3.4+).
    :param reschedule_timeout: no reschedule later than this after the try's first one (Airflow 3.4+).
    """
    if not retry_policies_supported():
        return None
    from airflow.providers.common.compat.sdk import (
        AirflowNotFoundException,
        ExceptionRetryPolicy,
        RetryAction,
        RetryRule,
    )

    quota_reason = "the account's OCR quota is spent for now; the next window takes the rest"
    quota: dict[str, Any] = {"action": RetryAction.RETRY, "reason": quota_reason}
    if reschedule_supported():  # spelled by value and keywords: the 3.3 type stubs know neither
        quota = {
            "action": RetryAction("reschedule"),
            "reason": f"{quota_reason} (rescheduled, no retry used)",
            "max_reschedules": max_reschedules,
            "reschedule_timeout": reschedule_timeout,
        }
    return ExceptionRetryPolicy(
        rules=[
            RetryRule(
                exception=[*FATAL_ERRORS, AirflowNotFoundException],
                action=RetryAction.FAIL,
                reason="credentials or configuration: another try cannot help",
            ),
            RetryRule(exception=[OcrQuotaExhausted, ThrottledError], retry_delay=quota_delay, **quota),
            RetryRule(
                exception=[OcrServiceUnavailable, ServiceUnavailableError, TransportError, DownloadUnavailableError],
                action=RetryAction.RETRY,
                reason="a passing outage (5xx, timeout, reset): retried with the task's backoff",
            ),
        ]
    )
