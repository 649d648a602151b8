"""Small HTTP helpers shared by the IAM calls, the OCR client and the emulator."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from ...errors import ApiError, TransportError, classify_api_error

# Headers that requests/urllib3 add for transport; Huawei's SDK adds them after signing, so they are not signed.
TRANSPORT_HEADERS = ("content-length", "connection", "accept", "accept-encoding", "transfer-encoding")
JSON_CONTENT_TYPE = "application/json;charset=utf-8"

SecretSink = Callable[[str], None]


def _find_error_pair(node: Any) -> tuple[str | None, str | None, str | None]:
    """Search nested dicts for an (error code, error message, request id) triple like the SDK does."""
    if not isinstance(node, dict):
        return None, None, None
    for code_key, msg_key in (("error_code", "error_msg"), ("errorCode", "errorMsg"), ("code", "message")):
        if code_key in node or msg_key in node:
            code = node.get(code_key)
            msg = node.get(msg_key)
            return (
                None if code is None else str(code),
                None if msg is None else str(msg),
                node.get("request_id"),
            )
    for value in node.values():
        found = _find_error_pair(value)
        if found[0] or found[1]:
            return found
    return None, None, None


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds, from either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def error_from_response(response: requests.Response) -> ApiError:
    """Turn a non-2xx response into the matching :class:`ApiError`."""
    code = msg = request_id = None
    try:
        body = response.json()
    except ValueError:
        body = None
    if body is not None:
        code, msg, request_id = _find_error_pair(body)
    request_id = response.headers.get("X-Request-Id") or request_id
    if not msg:
        text = (response.text or "").strip()
        msg = text[:300] if text else (response.reason or "no error message")
    return classify_api_error(
        response.status_code,
        code or str(response.status_code),
        msg,
        request_id=request_id,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
    )


def transport_error(exc: requests.RequestException, what: str) -> TransportError:
    """Wrap a requests exception without echoing request headers (which hold credentials)."""
    return TransportError(f"{what} failed: {type(exc).__name__}: {_safe_reason(exc)}")


def _safe_reason(exc: BaseException) -> str:
    text = str(exc)
    # Exceptions from requests carry URLs and reasons but never headers; keep them short.
    return text if len(text) <= 300 else text[:300] + "..."


def json_body(response: requests.Response, what: str) -> dict[str, Any]:
    """The response body as a JSON object, or a clear error."""
    try:
        data = response.json()
    except ValueError:
        raise TransportError(f"{what}: response is not JSON (HTTP {response.status_code})") from None
    if not isinstance(data, dict):
        raise TransportError(f"{what}: response JSON is not an object")
    return data


def dumps(payload: Any) -> bytes:
    """Compact-but-SDK-like JSON bytes."""
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def environment_settings(url: str, verify: bool) -> dict[str, Any]:
    """Proxies and CA bundle from the environment for ``url``, as requests' ``trust_env`` would find them
    (``HTTPS_PROXY``/``NO_PROXY``, ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``)."""
    import os

    from requests.utils import get_environ_proxies

    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    return {"proxies": get_environ_proxies(url), "verify": (bundle or True) if verify else False}
