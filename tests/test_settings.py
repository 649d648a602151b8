"""Auth-mode selection, connection parsing and error classification (no network)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_vlocr.core.backoff import RetryPolicy
from airflow_provider_vlocr.core.connection import ConnectionSettings, parse_timeout
from airflow_provider_vlocr.core.engines.huaweicloud.http import parse_retry_after
from airflow_provider_vlocr.core.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidRequestError,
    NotFoundError,
    NotSubscribedError,
    PermissionDeniedError,
    ServiceUnavailableError,
    ThrottledError,
    TokenExpiredError,
    UrlFetchFailedError,
    classify_api_error,
)

PASSWORD = {"login": "u", "password": "p", "extras": {"domain_name": "d"}}


def build(login: str | None = None, password: str | None = None, **extras: Any) -> ConnectionSettings:
    return ConnectionSettings.from_parts(login=login, password=password, extras=extras)


@pytest.mark.parametrize(
    ("kwargs", "mode"),
    [
        ({"login": "u", "password": "p", "domain_name": "d"}, "password"),
        ({"access_key_id": "AK", "secret_access_key": "SK"}, "aksk"),
        ({"access_key_id": "AK", "secret_access_key": "SK", "security_token": "T"}, "temporary-aksk"),
        ({"token": "MIItoken"}, "token"),
    ],
)
def test_auth_mode_from_connection(kwargs: dict[str, str], mode: str) -> None:
    assert build(**kwargs).auth_mode() == mode


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "no credentials"),
        ({"login": "u", "password": "p"}, "domain_name"),
        ({"login": "u", "domain_name": "d"}, "password"),
        ({"access_key_id": "AK"}, "secret_access_key"),
        ({"secret_access_key": "SK"}, "access_key_id"),
        ({"token": "T", "access_key_id": "AK", "secret_access_key": "SK"}, "ambiguous"),
        ({"login": "u", "password": "p", "domain_name": "d", "token": "T"}, "ambiguous"),
        ({"token": "T", "security_token": "S"}, "security_token"),
    ],
)
def test_incomplete_or_ambiguous_connections(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        build(**kwargs).auth_mode()


def test_extras_parsing_and_defaults() -> None:
    s = build(
        access_key_id="AK",
        secret_access_key="SK",
        verify_ssl="false",
        timeout="3,30",
        extra__vlocr__region="cn-east-3",
    )
    assert (s.region, s.verify_ssl, s.timeout) == ("cn-east-3", False, (3.0, 30.0))
    assert s.resolved_ocr_endpoint == "https://ocr.cn-east-3.myhuaweicloud.com"
    assert s.resolved_iam_endpoint == "https://iam.cn-east-3.myhuaweicloud.com"
    assert "SK" not in repr(s)
    with pytest.raises(ConfigurationError, match="unknown connection extra"):
        build(acces_key="typo")
    with pytest.raises(ConfigurationError, match="engine"):
        build(engine="gpu")
    assert parse_timeout(5) == (5.0, 5.0) and parse_timeout([1, 2]) == (1.0, 2.0)
    with pytest.raises(ConfigurationError):
        parse_timeout("0,1")


@pytest.mark.parametrize(
    ("status", "code", "msg", "cls"),
    [
        (429, "APIG.0308", "The throttling threshold has been reached", ThrottledError),
        (429, "APIGW.0308", "over ratelimit", ThrottledError),
        (400, "ModelArts.4401", "Max concurrency error.", ThrottledError),
        (401, "APIG.0307", "The token must be updated.", TokenExpiredError),
        (401, "APIG.0301", "Incorrect IAM authentication information: token expires", TokenExpiredError),
        (401, "APIG.0301", "Incorrect IAM authentication information: verify aksk signature fail", AuthenticationError),
        (401, "APIGW.0303", "signature expired", AuthenticationError),
        (401, "ModelArts.0212", "The Token not contain project item.", AuthenticationError),
        (403, "ModelArts.4204", "Not subscribe this api.", NotSubscribedError),
        (403, "ModelArts.4203", "Access denied!", PermissionDeniedError),
        (403, "APIG.0310", "The project is unavailable.", PermissionDeniedError),
        (404, "APIG.0101", "The API does not exist", NotFoundError),
        (400, "AIS.0101", "The input parameter is invalid.", InvalidRequestError),
        (400, "AIS.0104", "poor quality", InvalidRequestError),
        (400, "ModelArts.4105", "JSON", InvalidRequestError),
        (413, "APIG.0201", "Request entity too large", InvalidRequestError),
        (504, "APIG.0201", "Backend timeout.", ServiceUnavailableError),
        (502, "APIG.0201", "Backend unavailable", ServiceUnavailableError),
        (500, "APIG.0601", "internal", ServiceUnavailableError),
        (503, "APIG.0613", "IAM service unavailable", ServiceUnavailableError),
        (400, "ModelArts.4603", "Obtaining the file from the URL failed.", UrlFetchFailedError),
        (400, "ModelArts.4603", "Obtaining the file from the URL failed: HTTP 404 Not Found", InvalidRequestError),
    ],
)
def test_error_classification(status: int, code: str, msg: str, cls: type) -> None:
    error = classify_api_error(status, code, msg, request_id="rid")
    assert type(error) is cls
    assert error.retryable == (cls in (ThrottledError, ServiceUnavailableError, UrlFetchFailedError))
    assert error.to_dict()["retryable"] == error.retryable and "rid" in str(error)


def test_url_fetch_failure_is_retried_once_only() -> None:
    """ModelArts.4603 cannot say whether the object is missing or the network blinked: one retry, not five."""
    calls: list[int] = []

    def failing() -> None:
        calls.append(1)
        raise classify_api_error(400, "ModelArts.4603", "Obtaining the file from the URL failed.")

    with pytest.raises(UrlFetchFailedError):
        RetryPolicy(max_attempts=5, initial_delay=0.0, jitter=False).run(failing, sleep=lambda _: None)
    assert len(calls) == 2


def test_retry_policy_backoff_budget_and_retry_after() -> None:
    policy = RetryPolicy(max_attempts=10, initial_delay=1, multiplier=2, max_delay=8, budget_seconds=20)
    delays = [policy.delay_for(n, ThrottledError("x")) for n in range(1, 6)]
    assert all(b / 2 <= d <= b for d, b in zip(delays, [1, 2, 4, 8, 8], strict=True))
    assert policy.delay_for(1, ThrottledError("x", retry_after=5)) >= 5
    slept: list[float] = []
    calls = {"n": 0}

    def always_throttled() -> None:
        calls["n"] += 1
        raise ThrottledError("busy")

    with pytest.raises(ThrottledError):
        policy.run(always_throttled, sleep=slept.append)
    assert sum(slept) <= 20 and calls["n"] < 10  # the budget stops it before max_attempts

    def permanent() -> None:
        calls["n"] += 1
        raise InvalidRequestError("bad")

    calls["n"] = 0
    with pytest.raises(InvalidRequestError):
        policy.run(permanent, sleep=slept.append)
    assert calls["n"] == 1


def test_parse_retry_after() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("soon") is None
