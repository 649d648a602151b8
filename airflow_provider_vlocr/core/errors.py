"""One exception hierarchy for everything the client core can raise.

Every API failure is an :class:`ApiError` carrying ``status``, ``error_code``, ``error_msg`` and
``request_id``; its class says whether retrying can help (``retryable``). :func:`classify_api_error` maps
Huawei's ``AIS.*``, ``ModelArts.*``, ``APIG.*``/``APIGW.*`` codes and HTTP statuses onto that hierarchy.
Messages never contain credentials: they are built only from the server's error code and message.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar


class VlocrError(Exception):
    """Base class of every error raised by airflow-provider-vlocr."""

    retryable: ClassVar[bool] = False
    max_retries: ClassVar[int | None] = None  # a cap of its own on retries, below the policy's (None: no cap)


class ConfigurationError(VlocrError):
    """The connection or the call is configured wrongly (missing, ambiguous or invalid settings)."""


class ImageValidationError(VlocrError, ValueError):
    """An image failed a local check before any upload: no billed call was made."""

    def __init__(self, image: str, rule: str, detail: str) -> None:
        self.image = image
        self.rule = rule
        self.detail = detail
        super().__init__(f"image {image!r} rejected by rule '{rule}': {detail}")


class DownloadError(ImageValidationError):
    """We would not or could not download a URL item (policy refusal, HTTP error, size or time cap).

    Our own failure, not Huawei's: nothing was sent to the OCR service and nothing was billed.
    """


class DownloadUnavailableError(DownloadError):
    """A download failed in a way that may pass later (HTTP 5xx/429, connection refused or reset)."""

    retryable: ClassVar[bool] = True


class DownloadTimeoutError(DownloadError):
    """The server did not answer, or not completely, within the download's time: not tried again, since every
    try would hold the item as long again (a dead or dripping server ends its item within one deadline)."""


class BudgetExhaustedError(VlocrError):
    """``max_billed_calls`` is spent: the image was not sent (not a failure of the image)."""

    def __init__(self, image: str, limit: int) -> None:
        self.image = image
        self.rule = "budget"
        super().__init__(f"image {image!r} not sent: the budget of {limit} billed call(s) is spent")


class ApiError(VlocrError):
    """A failed call to Huawei IAM or OCR (or the emulator)."""

    def __init__(
        self,
        error_msg: str,
        *,
        status: int | None = None,
        error_code: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        image: str | None = None,
    ) -> None:
        self.status = status
        self.error_code = error_code
        self.error_msg = error_msg
        self.request_id = request_id
        self.retry_after = retry_after
        self.image = image
        super().__init__(self._describe())

    def _describe(self) -> str:
        parts = []
        if self.image:
            parts.append(f"image {self.image!r}:")
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.error_code and str(self.error_code) != str(self.status):  # IAM's {"code": 401}: said once
            parts.append(str(self.error_code))
        text = " ".join(parts)
        text = f"{text}: {self.error_msg}" if text else self.error_msg
        if self.request_id:
            text += f" (request_id={self.request_id})"
        return text

    def with_image(self, image: str | None) -> ApiError:
        """Return a copy of this error that names ``image``."""
        return type(self)(
            self.error_msg,
            status=self.status,
            error_code=self.error_code,
            request_id=self.request_id,
            retry_after=self.retry_after,
            image=image,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly description (for XCom error records)."""
        return {
            "type": type(self).__name__,
            "status": self.status,
            "code": self.error_code,
            "message": self.error_msg,
            "request_id": self.request_id,
            "retryable": self.retryable,
        }


class RetryableApiError(ApiError):
    """A transient failure: the same request may succeed later."""

    retryable: ClassVar[bool] = True


class ThrottledError(RetryableApiError):
    """429 APIG.0308 or ModelArts.4401: the account's rate or concurrency limit was hit. ``quota`` is the limit
    and its window in seconds when the message states them (``limit:300,time:1 minute`` -> ``(300, 60.0)``)."""

    @property
    def quota(self) -> tuple[int, float] | None:
        found = _QUOTA_MSG.search(self.error_msg or "")
        if found is None:
            return None
        count, unit = float(found["count"] or 1), found["unit"].lower()
        seconds = count * {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}[unit.rstrip("s")]
        return int(found["limit"]), seconds


class ServiceUnavailableError(RetryableApiError):
    """5xx, gateway timeouts, backend unavailable."""


class UrlFetchFailedError(ServiceUnavailableError):
    """ModelArts.4603: Huawei could not fetch the URL. Its message does not say why, and a missing object
    looks the same as a network blip, so it is retried once (``max_retries``), not five times."""

    max_retries: ClassVar[int | None] = 1


class TransportError(RetryableApiError):
    """No usable HTTP answer: connection refused or reset, timeout, broken response."""


class PermanentApiError(ApiError):
    """Retrying the same request cannot help."""


class InvalidRequestError(PermanentApiError):
    """The request or the image was rejected (AIS.01xx, ModelArts.41xx/46xx/47xx, 4xx)."""


class AuthenticationError(PermanentApiError):
    """Credentials were refused (wrong password, unknown AK, bad signature, bad token)."""


class TokenExpiredError(AuthenticationError):
    """The IAM token expired (APIG.0307, or APIG.0301 "token expires"): refresh it and retry once."""


class PermissionDeniedError(PermanentApiError):
    """The identity is known but not allowed (403, ModelArts.4203/4106, APIG.0302/0304/0306/0310)."""


class NotSubscribedError(PermanentApiError):
    """ModelArts.4204: the OCR service is not enabled for this account in this region."""


class NotFoundError(PermanentApiError):
    """APIG.0101: wrong path, method or region."""


# Errors that stop a whole batch: every other image would fail the same way (credentials, configuration).
FATAL_ERRORS = (ConfigurationError, AuthenticationError, PermissionDeniedError, NotSubscribedError, NotFoundError)
_RETRYABLE_CODES = {
    "ModelArts.4107",
    "ModelArts.4301",
    "ModelArts.4302",
    "ModelArts.4402",
    "ModelArts.4403",
    "ModelArts.4502",
    "ModelArts.4505",
}
# A 4603 whose message names a permanent cause is not retried at all.
_PERMANENT_FETCH_MSG = re.compile(r"\b(404|403|410|not\s+(found|exist)|forbidden|content[- ]type|format)\b", re.I)
_THROTTLE_CODES = {"APIG.0308", "ModelArts.4401"}
_PERMISSION_CODES = {
    "ModelArts.4106",
    "ModelArts.4203",
    "APIG.0302",
    "APIG.0304",
    "APIG.0306",
    "APIG.0310",
}
_AUTH_CODES = {
    "ModelArts.0203",
    "ModelArts.0212",
    "ModelArts.4101",
    "ModelArts.4102",
    "ModelArts.4103",
    "APIG.0301",
    "APIG.0303",
}
_TOKEN_EXPIRY_MSG = re.compile(r"token\s+(expire|must be updated)", re.IGNORECASE)
# APIG.0308's message: "... policy user over ratelimit,limit:300,time:1 minute"
_QUOTA_MSG = re.compile(
    r"limit:\s*(?P<limit>\d+)\s*,\s*time:\s*(?P<count>\d+(?:\.\d+)?)?\s*(?P<unit>second|minute|hour|day)s?", re.I
)


def normalise_code(code: str | None) -> str | None:
    """``APIGW.0308`` and ``APIG.0308`` are the same error; fold both to ``APIG.*``."""
    if code and code.upper().startswith("APIGW."):
        return "APIG." + code.split(".", 1)[1]
    return code


def classify_api_error(
    status: int | None,
    error_code: str | None,
    error_msg: str,
    *,
    request_id: str | None = None,
    retry_after: float | None = None,
) -> ApiError:
    """Build the right :class:`ApiError` subclass for a failed response."""
    code = normalise_code(error_code)
    kwargs: dict[str, Any] = {
        "status": status,
        "error_code": error_code,
        "request_id": request_id,
        "retry_after": retry_after,
    }
    cls: type[ApiError]
    if code in _THROTTLE_CODES or status == 429:
        cls = ThrottledError
    elif code == "APIG.0307" or (code == "APIG.0301" and _TOKEN_EXPIRY_MSG.search(error_msg or "")):
        cls = TokenExpiredError
    elif code == "ModelArts.4204":
        cls = NotSubscribedError
    elif code in _PERMISSION_CODES:
        cls = PermissionDeniedError
    elif code in _AUTH_CODES or status == 401:
        cls = AuthenticationError
    elif code == "APIG.0101":
        cls = NotFoundError
    elif code == "ModelArts.4603":
        cls = InvalidRequestError if _PERMANENT_FETCH_MSG.search(error_msg or "") else UrlFetchFailedError
    elif code in _RETRYABLE_CODES:
        cls = ServiceUnavailableError
    elif code == "APIG.0201":
        # Backend timeout / unavailable are transient; entity/URI/headers too large are not.
        cls = ServiceUnavailableError if status in (None, 502, 503, 504) else InvalidRequestError
    elif (status is not None and status >= 500) or status == 408:
        cls = ServiceUnavailableError
    elif status == 403:
        cls = PermissionDeniedError
    else:
        cls = InvalidRequestError
    return cls(error_msg or "no error message", **kwargs)
