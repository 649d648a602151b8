"""The hybrid engine: the offline engine reads every image; Huawei Cloud is asked only when a field is in doubt.

An image escalates when the offline reading is doubtful: a field the page should hold is missing, the picture is
flagged (``image_quality.flags``: ``low_resolution``), or a field's confidence is under the threshold (confidence
already folds in the validators: VIN check digit, plate grammar, date format and order, mass arithmetic, front/back
plates of a two-page photo), or the offline engine could not read the picture at all. The cloud's answer then
replaces the whole result: on the benchmark (``benchmarks/hybrid.py``) replacing only the doubtful fields kept the
offline engine's unflagged mistakes for no saving, since the call is billed either way.

Billing is per call here, so the pipeline does not reserve budget up front (``billed = False``); a batch binds its
budget and cache (:meth:`HybridEngine.for_batch`): an escalation first looks for a cloud answer in the cache (not
billed), then reserves one call; a spent budget leaves the offline result, marked ``outcome="budget"``, never a
failed image. Every response says which engine produced each field (``field_engines``) and why it escalated.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from ...licence.schema import HYBRID_THRESHOLD
from ..backoff import RetryPolicy
from ..batch.metered import MeteredCall
from ..errors import FATAL_ERRORS, ApiError, BudgetExhaustedError, InvalidRequestError
from ..models import Escalation, OcrResponse, RecognizeOptions
from .base import RecognitionEngine, prepare_call

if TYPE_CHECKING:
    from ..batch.budget import CallBudget
    from ..batch.cache import ResultCache
    from .factory import EngineContext

# What the offline engine reads on each page of a paper licence (issuing_authority only when asked).
EXPECTED = {
    "front": ("number", "vehicle_type", "name", "address", "use_character", "model", "vin", "engine_no",
              "register_date", "issue_date"),
    "back": ("number", "file_no", "approved_passengers", "gross_mass", "unladen_mass", "approved_load", "dimension",
             "traction_mass", "remarks", "inspection_record", "code_number"),
}  # fmt: skip
CLOUD = "huaweicloud"
LOCAL_MEMO_SIZE = 64  # offline readings kept while their escalation may be retried


def escalation_reasons(response: OcrResponse, options: RecognizeOptions, threshold: float) -> list[str]:
    """Why an offline result needs the cloud: missing fields and fields under ``threshold`` (empty: it does not)."""
    result = response.result.to_api_dict()
    side = options.side or response.side or "front"  # the page asked, else the page the offline engine saw
    pages = ("front", "back") if side == "double_side" else (side,)
    wanted = [name for page in pages for name in EXPECTED[page]]
    if options.return_issuing_authority and "front" in pages:
        wanted.append("issuing_authority")
    present = set(result)
    for page in ("front", "back"):
        present |= set(result.get(page) or {})
    reasons = [f"missing {name}" for name in dict.fromkeys(wanted) if name not in present]
    reasons += [f"{name} {score:.2f}" for name, score in response.field_confidence.items() if score < threshold]
    if response.image_quality is not None:  # a picture too poor to trust, however sure each field looks
        reasons += [f"image {flag}" for flag in response.image_quality.flags]
    return reasons


class HybridEngine:
    """Offline first, Huawei Cloud when in doubt (see the module docstring)."""

    name = "hybrid"
    accepts_urls = False
    billed = False  # per call: only escalations are billed, and each response says so

    def __init__(
        self,
        local: RecognitionEngine,
        cloud: RecognitionEngine,
        *,
        threshold: float = HYBRID_THRESHOLD,
        budget: CallBudget | None = None,
        cache: ResultCache | None = None,
    ) -> None:
        self.local = local
        self.cloud = cloud
        self.threshold = threshold
        self.metered = MeteredCall(cache, budget)
        self._memo: OrderedDict[str, OcrResponse] = OrderedDict()
        self._memo_lock = threading.Lock()

    def for_batch(self, *, budget: CallBudget | None, cache: ResultCache | None) -> HybridEngine:
        """This engine bound to a batch's budget and cache (the engines themselves are shared)."""
        return HybridEngine(self.local, self.cloud, threshold=self.threshold, budget=budget, cache=cache)

    def recognize(
        self,
        *,
        image: bytes | None = None,
        url: str | None = None,
        options: RecognizeOptions | None = None,
        image_name: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> OcrResponse:
        options, name = prepare_call(image, url, options, image_name)
        source: dict[str, Any] = {"image": image} if image is not None else {"url": url}
        memo_key = hashlib.sha256(image or (url or "").encode()).hexdigest() + options.model_dump_json()
        local, unreadable = self._read_locally(memo_key, source, options, name)
        if local is not None:
            reasons = escalation_reasons(local, options, self.threshold)
            if not reasons:
                self._forget(memo_key)
                return _as_hybrid(local, None)
        else:
            reasons = [f"local unreadable: {unreadable}"]
        if options.side is None and local is not None:  # ask the cloud about the page the offline engine saw
            options = options.model_copy(update={"side": local.side})
        cloud = self._ask_cloud(source, options, name, retry, reasons, local, unreadable)
        self._forget(memo_key)
        return cloud

    def _read_locally(
        self, memo_key: str, source: dict[str, Any], options: RecognizeOptions, name: str
    ) -> tuple[OcrResponse | None, InvalidRequestError | None]:
        """The offline reading (remembered while its escalation may be retried), or why it failed."""
        with self._memo_lock:
            if memo_key in self._memo:
                return self._memo[memo_key], None
        try:
            response = self.local.recognize(**source, options=options, image_name=name)
        except InvalidRequestError as error:  # AIS.0104: not a licence page the offline engine can read
            return None, error
        with self._memo_lock:
            self._memo[memo_key] = response
            while len(self._memo) > LOCAL_MEMO_SIZE:
                self._memo.popitem(last=False)
        return response, None

    def _forget(self, memo_key: str) -> None:
        with self._memo_lock:
            self._memo.pop(memo_key, None)

    def _ask_cloud(
        self,
        source: dict[str, Any],
        options: RecognizeOptions,
        name: str,
        retry: RetryPolicy | None,
        reasons: list[str],
        local: OcrResponse | None,
        unreadable: InvalidRequestError | None,
    ) -> OcrResponse:
        """The cloud's answer (cached or billed); the offline result when the budget is spent or the cloud
        refuses this image; retryable and fatal errors propagate (the pipeline re-queues or stops)."""
        confidence = local.field_confidence if local is not None else {}
        doubt = {name: score for name, score in confidence.items() if score < self.threshold}  # why it escalated
        image = source.get("image")
        key = self.metered.cache_key(image, CLOUD, options) if image is not None else None
        hit = self.metered.cached(key)
        if hit is not None:
            cached = OcrResponse.model_validate({"result": hit["result"], "request_id": hit.get("request_id")})
            return _as_hybrid(cached, Escalation(reasons=reasons, doubtful_fields=doubt, outcome="cloud_cached"))
        try:
            answer = self.metered.call(
                lambda: self.cloud.recognize(**source, options=options, image_name=name, retry=retry),
                image_name=name,
                key=key,
                entry=lambda answer: {"result": answer.result.to_api_dict(), "request_id": answer.request_id},
            )
        except BudgetExhaustedError:
            if local is None:
                assert unreadable is not None
                raise unreadable from None
            return _as_hybrid(local, Escalation(reasons=reasons, doubtful_fields=doubt, outcome="budget"))
        except ApiError as error:
            refused = not error.retryable and not isinstance(error, FATAL_ERRORS)
            if not refused or local is None:
                raise
            code = error.error_code or type(error).__name__
            escalation = Escalation(reasons=reasons, doubtful_fields=doubt, outcome="cloud_error", error=code)
            return _as_hybrid(local, escalation)
        return _as_hybrid(answer, Escalation(reasons=reasons, doubtful_fields=doubt, outcome="cloud"))

    def close(self) -> None:
        self.cloud.close()


def _fields(response: OcrResponse, engine: str) -> dict[str, str]:
    """Every field of a result, attributed to ``engine``."""
    data = response.result.to_api_dict()
    names = {k for k in data if k not in ("front", "back", "text_location", "type", "alarm_result",
                                          "alarm_confidence")}  # fmt: skip
    for page in ("front", "back"):
        names |= {k for k in data.get(page) or {} if k not in ("text_location", "alarm_result", "alarm_confidence")}
    return {name: engine for name in sorted(names)}


def _as_hybrid(response: OcrResponse, escalation: Escalation | None) -> OcrResponse:
    """``response`` as the hybrid engine's answer. The escalation's outcome says who produced the fields (the cloud
    for ``cloud`` and ``cloud_cached``, else the offline engine) and whether the call was billed (``cloud`` only)."""
    from_cloud = escalation is not None and escalation.outcome in ("cloud", "cloud_cached")
    update: dict[str, Any] = {
        "engine": "hybrid",
        "field_engines": _fields(response, CLOUD if from_cloud else "local"),
        "escalation": escalation,
        "billed": escalation is not None and escalation.outcome == "cloud",
    }
    if from_cloud:  # the cloud's answer carries no confidence; the escalation keeps the offline doubt it settled
        update.update(field_confidence={}, doubtful_fields=[])
    return response.model_copy(update=update)


def create_engine(context: EngineContext) -> HybridEngine:
    """The registry's factory: the process-wide offline engine and a cloud client for the connection."""
    from .huaweicloud.client import create_engine as create_cloud
    from .local import LocalEngine

    threshold = context.settings.hybrid_threshold if context.settings is not None else HYBRID_THRESHOLD
    return HybridEngine(LocalEngine.shared(), create_cloud(context), threshold=threshold)
