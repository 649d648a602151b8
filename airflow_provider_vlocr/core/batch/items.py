"""An *item*: the plain-JSON outcome of one input image, as the pipeline yields it, the journal stores it and XCom
carries it. ``ok`` with the API-shaped result, or ``error`` naming the input and the rule broken. (A *record* is
something else: the validated :class:`~airflow_provider_vlocr.licence.record.VehicleRecord` an item may carry.)"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal, TypedDict

from ..errors import ApiError, BudgetExhaustedError, DownloadError, ImageValidationError, VlocrError
from ..models import OcrResponse


class ItemError(TypedDict):
    """Why an item failed: the error's class, HTTP status, API code or input rule, message, retryability."""

    type: str
    status: int | None
    code: str | None
    message: str
    request_id: str | None
    retryable: bool


class Item(TypedDict, total=False):
    """One input's outcome; ``index`` is its position in the input, ``key`` its identity across tries."""

    index: int
    source: str
    id: str
    key: str | None
    side: str | None
    status: Literal["ok", "error"]
    result: dict[str, Any]
    error: ItemError
    request_id: str | None
    engine: str
    attempts: int
    elapsed_ms: float
    field_confidence: dict[str, float]
    doubtful_fields: list[str]
    field_engines: dict[str, str]
    escalation: dict[str, Any]
    cached: bool  # answered from the result cache: not billed
    billed: bool  # this call was billed
    resumed: bool  # recorded ok by an earlier try: passed through, not sent
    duplicate_of: str | None  # the key of the same image earlier in the batch (recognised once)
    try_number: int
    record: dict[str, Any]  # the validated VehicleRecord, when asked for
    answer_key: str  # the engine and the options it was answered under (resume.answer_key)
    shaped_as: dict[str, Any]  # how it left the task: records, redaction (resume.shaped_as)
    reshaped: bool  # an earlier try's answer, shaped again for this try's options


class ItemOutcome(StrEnum):
    """Which manifest count an item falls in."""

    OK = "ok"
    RESUMED = "resumed"
    CACHED = "cached"
    BUDGET = "budget"  # not sent: the billed-call budget was spent
    INVALID_INPUT = "invalid_input"
    TRANSIENT = "transient"
    FAILED = "failed"


def outcome_of(item: Item) -> ItemOutcome:
    """The manifest count ``item`` falls in."""
    if item.get("resumed"):
        return ItemOutcome.RESUMED
    if item.get("status") == "ok":
        return ItemOutcome.CACHED if item.get("cached") else ItemOutcome.OK
    error: dict[str, Any] = dict(item.get("error") or {})
    if error.get("code") == BUDGET_CODE:
        return ItemOutcome.BUDGET
    if error.get("type") in (ImageValidationError.__name__, DownloadError.__name__):
        return ItemOutcome.INVALID_INPUT
    return ItemOutcome.TRANSIENT if error.get("retryable") else ItemOutcome.FAILED


BUDGET_CODE = "budget"


def error_details(error: BaseException | None) -> ItemError:
    """A JSON-friendly description of ``error`` that names the image."""
    if isinstance(error, ApiError):
        return ItemError(**error.to_dict())  # type: ignore[typeddict-item]
    rule = error.rule if isinstance(error, ImageValidationError) else None
    if isinstance(error, BudgetExhaustedError):
        rule = BUDGET_CODE
    return ItemError(
        type=type(error).__name__,
        status=None,
        code=rule,
        message=str(error),
        request_id=None,
        retryable=isinstance(error, VlocrError) and error.retryable,
    )


def error_item(
    source: str, item_id: str, key: str | None, side: str | None, error: BaseException | None, elapsed_ms: float = 0.0
) -> Item:
    """The item of an input that failed."""
    return Item(
        source=source,
        id=item_id,
        key=key,
        side=side,
        status="error",
        error=error_details(error),
        request_id=error.request_id if isinstance(error, ApiError) else None,
        elapsed_ms=elapsed_ms,
    )


def engine_details(response: OcrResponse) -> dict[str, Any]:
    """What a local or hybrid engine adds beside the result (per-field confidence, doubtful fields, which engine
    produced each field, the escalation, the picture's quality), for items and cache entries; nothing for the
    cloud engine."""
    details: dict[str, Any] = {}
    if response.field_confidence:
        details.update(field_confidence=response.field_confidence, doubtful_fields=response.doubtful_fields)
    if response.field_engines:
        details["field_engines"] = response.field_engines
    if response.escalation is not None:
        details["escalation"] = response.escalation.model_dump(mode="json", exclude_none=True)
    if response.image_quality is not None:
        details["image_quality"] = response.image_quality.model_dump(mode="json", exclude_none=True)
    return details
