"""The client core and the hook against the emulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_vlocr.core.backoff import RetryPolicy
from airflow_provider_vlocr.core.connection import ConnectionSettings
from airflow_provider_vlocr.core.engines.huaweicloud.client import VehicleLicenseOcrClient
from airflow_provider_vlocr.core.errors import (
    AuthenticationError,
    ConfigurationError,
    ImageValidationError,
    InvalidRequestError,
    ServiceUnavailableError,
    TransportError,
)
from airflow_provider_vlocr.core.models import RecognizeOptions
from airflow_provider_vlocr.testing.emulator_handle import EmulatorHandle
from tests.samples import BACK, FRONT, double_reading, front_reading, make_image

FAST_RETRY = RetryPolicy(max_attempts=6, initial_delay=0.01, max_delay=0.05, budget_seconds=5)
MODES = ("password", "aksk", "temporary-aksk")


def settings_for(emulator: EmulatorHandle, mode: str, **overrides: Any) -> ConnectionSettings:
    conn = emulator.connection(mode)
    extras = {**conn["extra"], **overrides.pop("extra", {})}
    return ConnectionSettings.from_parts(
        login=overrides.get("login", conn.get("login")),
        password=overrides.get("password", conn.get("password")),
        extras=extras,
    )


def make_client(emulator: EmulatorHandle, mode: str = "password", **kwargs: Any) -> VehicleLicenseOcrClient:
    kwargs.setdefault("retry", FAST_RETRY)
    extra = kwargs.pop("extra", {})
    return VehicleLicenseOcrClient(settings_for(emulator, mode, extra=extra), **kwargs)


@pytest.mark.parametrize("mode", MODES)
def test_every_auth_mode_recognizes_front(vlocr_emulator: EmulatorHandle, mode: str) -> None:
    image = make_image(1)
    vlocr_emulator.add_answer(image, front_reading())
    client = make_client(vlocr_emulator, mode)
    response = client.recognize(image=image, options=RecognizeOptions(side="front", return_issuing_authority=True))
    assert response.result.number == FRONT["number"]
    assert response.result.vin == FRONT["vin"]
    assert response.result.issuing_authority == FRONT["issuing_authority"]
    assert response.result.type == "normal"
    assert response.request_id and len(response.request_id) == 32
    assert vlocr_emulator.billed(image) == 1


def test_ready_made_token_mode(vlocr_emulator: EmulatorHandle) -> None:
    image = make_image(2)
    vlocr_emulator.add_answer(image, front_reading())
    conn = vlocr_emulator.connection("password")
    token = vlocr_emulator.issue_token()
    settings = ConnectionSettings.from_parts(
        login=None,
        password=None,
        extras={**{k: v for k, v in conn["extra"].items() if k != "domain_name"}, "token": token},
    )
    client = VehicleLicenseOcrClient(settings, retry=FAST_RETRY)
    assert client.auth.kind == "token"
    assert client.recognize(image=image).result.name == FRONT["name"]


def test_options_shape_the_response(vlocr_emulator: EmulatorHandle) -> None:
    image = make_image(3)
    vlocr_emulator.add_answer(image, double_reading())
    client = make_client(vlocr_emulator)
    plain = client.recognize(image=image, options=RecognizeOptions(side="front")).result
    assert plain.issuing_authority is None and plain.text_location is None and plain.front is None
    back = client.recognize(image=image, options=RecognizeOptions(side="back")).result
    assert back.file_no == BACK["file_no"] and back.name is None
    both = client.recognize(
        image=image,
        options=RecognizeOptions(side="double_side", return_text_location=True, return_issuing_authority=True),
    ).result
    assert both.front is not None and both.back is not None
    assert both.front.issuing_authority == FRONT["issuing_authority"]
    assert both.back.code_number == BACK["code_number"]
    assert both.front.text_location and set(both.front.text_location) == set(FRONT)
    assert len(both.front.text_location["vin"]) == 4


def test_token_is_fetched_once_by_sixteen_threads(vlocr_emulator: EmulatorHandle) -> None:
    image = make_image(4)
    vlocr_emulator.add_answer(image, front_reading())
    vlocr_emulator.configure(latency_ms=50)
    client = make_client(vlocr_emulator, pool_size=16)
    barrier = threading.Barrier(16)
    results: list[str | None] = []
    errors: list[BaseException] = []

    def work() -> None:
        barrier.wait(timeout=30)
        try:
            results.append(client.recognize(image=image).result.number)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a recognising thread hung"
    assert not errors and results == [FRONT["number"]] * 16
    counters = vlocr_emulator.counters()
    assert counters["tokens_issued"] == 1
    assert counters["project_lookups"] == 0  # a project-scoped token reveals its project id
    assert counters["max_in_flight"] > 1


def test_expired_token_is_refreshed_once_and_the_call_retried(vlocr_emulator: EmulatorHandle) -> None:
    image = make_image(5)
    vlocr_emulator.add_answer(image, front_reading())
    client = make_client(vlocr_emulator)
    client.recognize(image=image)
    assert vlocr_emulator.expire_tokens() >= 1
    response = client.recognize(image=image)
    assert response.result.number == FRONT["number"]
    counters = vlocr_emulator.counters()
    assert counters["tokens_issued"] == 2
    assert counters["errors_by_code"] == {"APIG.0307": 1}
    assert vlocr_emulator.billed(image) == 2


def test_short_token_lifetime_is_refreshed_before_expiry(vlocr_emulator: EmulatorHandle) -> None:
    image = make_image(6)
    vlocr_emulator.add_answer(image, front_reading())
    vlocr_emulator.configure(token_lifetime_seconds=0.6)
    client = make_client(vlocr_emulator)
    client.recognize(image=image)
    threading.Event().wait(0.7)
    client.recognize(image=image)
    counters = vlocr_emulator.counters()
    assert counters["tokens_issued"] == 2
    assert "APIG.0307" not in counters["errors_by_code"]  # refreshed ahead of expiry, no failed call


def test_project_lookup_by_region_and_errors(vlocr_emulator: EmulatorHandle) -> None:
    client = make_client(vlocr_emulator, "aksk")
    assert client.project_id == vlocr_emulator.config.project.id
    assert client.project_id == vlocr_emulator.config.project.id
    assert vlocr_emulator.counters()["project_lookups"] == 1  # cached
    wrong_region = make_client(vlocr_emulator, "aksk", extra={"region": "cn-east-3"})
    with pytest.raises(ConfigurationError, match="found no project"):
        wrong_region.lookup_project_id()
    configured = make_client(vlocr_emulator, "aksk", extra={"project_id": "f" * 32})
    with pytest.raises(ConfigurationError, match="not the project of region"):
        configured.check_credentials()


def test_throttling_is_retried_until_success(vlocr_emulator: EmulatorHandle) -> None:
    image = make_image(7)
    vlocr_emulator.add_answer(image, front_reading())
    vlocr_emulator.configure(faults={"rate_429": 0.5}, seed=3)
    client = make_client(vlocr_emulator, retry=RetryPolicy(max_attempts=20, initial_delay=0.005, max_delay=0.02))
    for _ in range(10):
        assert client.recognize(image=image).result.number == FRONT["number"]
    counters = vlocr_emulator.counters()
    assert counters["faults_injected"]["429"] > 0
    assert vlocr_emulator.billed(image) == 10


def test_retry_after_is_honoured(vlocr_emulator: EmulatorHandle) -> None:
    image = make_image(8)
    vlocr_emulator.add_answer(image, front_reading())
    vlocr_emulator.configure(qps_limit=1, retry_after_seconds=0.3)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        threading.Event().wait(seconds)

    client = make_client(vlocr_emulator, sleep=sleep)
    client.recognize(image=image)
    client.recognize(image=image)
    assert slept and all(s >= 0.3 for s in slept)


@pytest.mark.parametrize(
    ("fault", "error"),
    [("rate_500", ServiceUnavailableError), ("rate_504", ServiceUnavailableError), ("rate_reset", TransportError)],
)
def test_transient_faults_exhaust_retries_with_retryable_error(
    vlocr_emulator: EmulatorHandle, fault: str, error: type[Exception]
) -> None:
    image = make_image(9)
    vlocr_emulator.add_answer(image, front_reading())
    vlocr_emulator.configure(faults={fault: 1.0})
    client = make_client(vlocr_emulator, retry=RetryPolicy(max_attempts=3, initial_delay=0.01, max_delay=0.01))
    with pytest.raises(error) as info:
        client.recognize(image=image, image_name="licence-9.png")
    assert info.value.retryable  # type: ignore[attr-defined]
    assert "licence-9.png" in str(info.value)
    assert vlocr_emulator.counters()["ocr_requests"] == 3


def test_unknown_image_is_permanent_and_not_retried(vlocr_emulator: EmulatorHandle) -> None:
    client = make_client(vlocr_emulator)
    with pytest.raises(InvalidRequestError) as info:
        client.recognize(image=make_image(10), image_name="unknown.png")
    assert info.value.error_code == "AIS.0104" and info.value.status == 400 and not info.value.retryable
    assert vlocr_emulator.counters()["ocr_requests"] == 1


@pytest.mark.parametrize("mode", ["password", "aksk"])
def test_wrong_secret_is_an_authentication_error_never_retried(vlocr_emulator: EmulatorHandle, mode: str) -> None:
    override = {"password": "wrong-password"} if mode == "password" else {"extra": {"secret_access_key": "x" * 40}}
    settings = settings_for(vlocr_emulator, mode, **override)
    client = VehicleLicenseOcrClient(settings, retry=FAST_RETRY)
    with pytest.raises(AuthenticationError) as info:
        client.recognize(image=make_image(11))
    assert not info.value.retryable
    counters = vlocr_emulator.counters()
    if mode == "password":
        assert counters["token_failures"] == 1
    else:
        assert counters["errors_by_code"] == {"APIG.0301": 1}


def test_bad_images_are_refused_before_any_upload(vlocr_emulator: EmulatorHandle) -> None:
    client = make_client(vlocr_emulator)
    cases: list[tuple[bytes, str]] = [
        (b"GIF89a" + b"\0" * 100, "format"),
        (make_image(12, 90, 300), "min-side"),
        (b"", "non-empty"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 50, "complete"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 50 + b"\0\0\0\0IEND\xaeB`\x82", "decodable"),
    ]
    for data, rule in cases:
        with pytest.raises(ImageValidationError) as info:
            client.recognize(image=data, image_name=f"bad-{rule}.png")
        assert info.value.rule == rule and f"bad-{rule}.png" in str(info.value)
    with pytest.raises(ImageValidationError, match="url-scheme"):
        client.recognize(url="ftp://example.invalid/a.png")
    assert vlocr_emulator.counters()["ocr_requests"] == 0


def test_url_mode_is_downloaded_by_the_service(
    vlocr_emulator: EmulatorHandle, image_server: Callable[..., str]
) -> None:
    image = make_image(13, fmt="JPEG")
    vlocr_emulator.add_answer(image, front_reading())
    url = image_server("licence.jpg", image)
    client = make_client(vlocr_emulator)
    assert client.recognize(url=url).result.vin == FRONT["vin"]
    # ModelArts.4603 (download failed) may be a passing network fault, so it is retryable.
    with pytest.raises(ServiceUnavailableError) as info:
        client.recognize(url=url.replace("licence.jpg", "missing.jpg"))
    assert info.value.error_code == "ModelArts.4603"


def test_secrets_never_reach_logs_or_errors(
    vlocr_emulator: EmulatorHandle, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    image = make_image(14)
    vlocr_emulator.add_answer(image, front_reading())
    secrets: list[str] = []
    messages: list[str] = []
    for mode in MODES:
        conn = vlocr_emulator.connection(mode)
        secrets += [
            v
            for v in (conn.get("password"), conn["extra"].get("secret_access_key"), conn["extra"].get("security_token"))
            if v
        ]
        client = make_client(vlocr_emulator, mode, on_secret=secrets.append)
        client.recognize(image=image)
        vlocr_emulator.configure(faults={"rate_500": 1.0})
        with pytest.raises(ServiceUnavailableError) as info:
            client.recognize(image=image)
        messages += [str(info.value), repr(info.value), repr(client), repr(client.auth), repr(client.settings)]
        vlocr_emulator.configure(faults={})
    bad = make_client(vlocr_emulator, "password")
    bad.auth._password = "wrong"  # type: ignore[attr-defined]
    with pytest.raises(AuthenticationError) as info:
        bad.recognize(image=image)
    messages.append(str(info.value))
    tokens = [s for s in secrets if s.startswith("MII")]
    assert tokens, "the fetched IAM token must be handed to the secret sink (mask_secret)"
    captured = capsys.readouterr()
    haystack = "\n".join([caplog.text, captured.out, captured.err, *messages])
    for secret in secrets:
        assert secret not in haystack


def test_request_body_is_sdk_shaped(vlocr_emulator: EmulatorHandle) -> None:
    from airflow_provider_vlocr.core.models import request_body

    body = request_body(
        image_b64=None,
        url="https://example.com/a.jpg",
        options=RecognizeOptions(
            side="double_side",
            return_issuing_authority=True,
            return_text_location=True,
            recognize_electronic_license=True,
            alarm=True,
        ),
    )
    assert body == (
        b'{"url": "https://example.com/a.jpg", "side": "double_side", "return_issuing_authority": true, '
        b'"return_text_location": true, "recognize_electronic_license": true, "alarm": true}'
    )
    assert json.loads(body)["side"] == "double_side"
    image = bytes(range(256)) * 40
    for options in (RecognizeOptions(), RecognizeOptions(side="front", alarm=False)):
        spliced = request_body(image_b64=base64.b64encode(image), url=None, options=options)
        reference = {"image": base64.b64encode(image).decode(), **options.body_fields()}
        assert spliced == json.dumps(reference, ensure_ascii=False).encode("utf-8")


def test_enterprise_project_id_header_and_unknown_fields_kept(vlocr_emulator: EmulatorHandle) -> None:
    from airflow_provider_vlocr.core.models import VehicleLicenseResult

    image = make_image(15)
    vlocr_emulator.add_answer(image, front_reading())
    client = make_client(vlocr_emulator, "aksk", extra={"enterprise_project_id": "ep-from-connection"})
    client.recognize(image=image)
    client.recognize(image=image, options=RecognizeOptions(enterprise_project_id="ep-per-call"))
    assert vlocr_emulator.counters()["enterprise_project_ids"] == {"ep-from-connection": 1, "ep-per-call": 1}
    future = VehicleLicenseResult.model_validate({"number": "京A12345", "new_field_2027": {"x": 1}})
    assert future.to_api_dict()["new_field_2027"] == {"x": 1}


def test_base64_size_limit_is_checked_locally(vlocr_emulator: EmulatorHandle) -> None:
    big = make_image(16) + b"\0" * (8 * 1024 * 1024)  # a valid PNG header, base64 over 10 MB
    with pytest.raises(ImageValidationError) as info:
        make_client(vlocr_emulator).recognize(image=big, image_name="huge.png")
    assert info.value.rule == "max-size" and "huge.png" in str(info.value)
    assert vlocr_emulator.counters()["ocr_requests"] == 0
