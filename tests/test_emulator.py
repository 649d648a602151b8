"""The emulator speaks the real protocol: raw HTTP requests get the documented codes and statuses."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from airflow_provider_vlocr.core.engines.huaweicloud.signing import sdk_date, sign_request
from airflow_provider_vlocr.emulator.config import DEMO_AK, DEMO_SK, DEMO_TEMP_AK, DEMO_TEMP_SK
from airflow_provider_vlocr.emulator.state import Counters
from airflow_provider_vlocr.testing.emulator_handle import EmulatorHandle, start_emulator_process
from tests.samples import FRONT, double_reading, front_reading, make_image


def ocr_url(emulator: EmulatorHandle) -> str:
    return f"{emulator.base_url}/v2/{emulator.config.project.id}/ocr/vehicle-license"


def signed_post(
    url: str,
    body: bytes,
    *,
    ak: str = DEMO_AK,
    sk: str = DEMO_SK,
    extra: dict[str, str] | None = None,
    date: str | None = None,
) -> requests.Response:
    headers = {"Content-Type": "application/json;charset=utf-8", **(extra or {})}
    if date:
        headers["X-Sdk-Date"] = date
    sign_request(ak, sk, "POST", url, headers, body)
    return requests.post(url, data=body, headers=headers, timeout=10)


def post_json(emulator: EmulatorHandle, payload: Any) -> requests.Response:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return signed_post(ocr_url(emulator), body)


def error_of(response: requests.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error_code"]


def test_token_issue_and_wrong_password(vlocr_emulator: EmulatorHandle) -> None:
    url = f"{vlocr_emulator.base_url}/v3/auth/tokens"
    ok = requests.post(url, json=vlocr_emulator.token_request(), timeout=5)
    assert ok.status_code == 201
    assert ok.headers["X-Subject-Token"].startswith("MII") and len(ok.headers["X-Subject-Token"]) > 1000
    token = ok.json()["token"]
    assert token["project"]["id"] == vlocr_emulator.config.project.id
    assert token["expires_at"].endswith("Z") and "." in token["expires_at"]
    bad = requests.post(url, json=vlocr_emulator.token_request(password="nope"), timeout=5)
    assert bad.status_code == 401 and bad.json()["error"]["code"] == 401


def test_domain_scoped_token_is_refused_by_ocr(vlocr_emulator: EmulatorHandle) -> None:
    token = vlocr_emulator.issue_token(scope="domain")
    image = make_image(20)
    vlocr_emulator.add_answer(image, front_reading())
    response = requests.post(
        ocr_url(vlocr_emulator),
        json={"image": base64.b64encode(image).decode()},
        headers={"X-Auth-Token": token},
        timeout=5,
    )
    assert error_of(response) == (401, "ModelArts.0212")
    unknown = requests.post(
        ocr_url(vlocr_emulator), json={"image": "x"}, headers={"X-Auth-Token": "MIIbogus"}, timeout=5
    )
    assert error_of(unknown) == (401, "APIG.0301")
    missing = requests.post(ocr_url(vlocr_emulator), json={"image": "x"}, timeout=5)
    assert error_of(missing) == (401, "APIG.0301")
    assert missing.json()["request_id"] == missing.headers["X-Request-Id"]


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({}, "AIS.0101"),
        ({"image": "AAAA", "url": "http://127.0.0.1/x.png"}, "AIS.0101"),
        ({"image": "IMAGE", "side": "left"}, "AIS.0101"),
        ({"image": "IMAGE", "return_text_location": "true"}, "AIS.0101"),
        ({"image": "IMAGE", "alarm": 1}, "AIS.0101"),
        ({"image": "data:image/png;base64,IMAGE"}, "AIS.0102"),
        ({"image": "!!!not-base64!!!"}, "AIS.0102"),
        ({"image": base64.b64encode(b"GIF89a" + b"\0" * 200).decode()}, "AIS.0102"),
        ({"image": base64.b64encode(make_image(21, 80, 80)).decode()}, "AIS.0103"),
        (b"{not json", "ModelArts.4105"),
        ({"url": "http://192.0.2.10/x.png"}, "ModelArts.4601"),
    ],
)
def test_request_validation_codes(vlocr_emulator: EmulatorHandle, payload: Any, code: str) -> None:
    image_b64 = base64.b64encode(make_image(22)).decode()
    if isinstance(payload, dict):
        payload = {k: (v.replace("IMAGE", image_b64) if isinstance(v, str) else v) for k, v in payload.items()}
    status, got = error_of(post_json(vlocr_emulator, payload))
    assert (status, got) == (400, code)
    assert vlocr_emulator.counters()["ocr_billed"] == 0


def test_url_download_from_allowed_host(vlocr_emulator: EmulatorHandle, image_server: Callable[..., str]) -> None:
    image = make_image(23, fmt="JPEG")
    vlocr_emulator.add_answer(image, front_reading())
    response = post_json(vlocr_emulator, {"url": image_server("a.jpg", image), "side": "front"})
    assert response.status_code == 200 and response.json()["result"]["number"] == FRONT["number"]
    vlocr_emulator.configure(url_allowed_hosts=["obs.example.com"])
    refused = post_json(vlocr_emulator, {"url": image_server("a.jpg", image)})
    assert error_of(refused) == (400, "ModelArts.4601")


def test_response_shaping(vlocr_emulator: EmulatorHandle) -> None:
    image = make_image(24)
    reading = double_reading()
    reading.alarm_result = None
    vlocr_emulator.add_answer(image, reading)
    b64 = base64.b64encode(image).decode()
    front = post_json(vlocr_emulator, {"image": b64}).json()["result"]
    assert "issuing_authority" not in front and "text_location" not in front and "front" not in front
    assert front["type"] == "normal" and front["vin"] == FRONT["vin"]
    asked = post_json(
        vlocr_emulator,
        {"image": b64, "side": "double_side", "return_issuing_authority": True, "return_text_location": True},
    ).json()["result"]
    assert asked["front"]["issuing_authority"] == FRONT["issuing_authority"]
    assert set(asked["text_location"]) >= {"vin", "file_no"}
    assert "alarm_result" not in asked


def test_electronic_licence_needs_the_switch(vlocr_emulator: EmulatorHandle) -> None:
    image = make_image(25)
    reading = front_reading()
    reading.type = "electronic"
    reading.color = "白"
    reading.status = ["正常"]
    vlocr_emulator.add_answer(image, reading)
    b64 = base64.b64encode(image).decode()
    assert error_of(post_json(vlocr_emulator, {"image": b64})) == (400, "AIS.0104")
    result = post_json(vlocr_emulator, {"image": b64, "recognize_electronic_license": True}).json()["result"]
    assert result["type"] == "electronic" and result["color"] == "白" and result["status"] == ["正常"]


def test_signature_checks(vlocr_emulator: EmulatorHandle) -> None:
    url = ocr_url(vlocr_emulator)
    body = b'{"image": "AAAA"}'
    assert error_of(signed_post(url, body, sk="wrong" * 8)) == (401, "APIG.0301")
    stale = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() - 20 * 60))
    assert error_of(signed_post(url, body, date=stale)) == (401, "APIG.0303")
    assert error_of(signed_post(url, body, ak="UNKNOWNAK")) == (401, "APIG.0301")
    # Temporary keys must carry their security token, signed.
    assert error_of(signed_post(url, body, ak=DEMO_TEMP_AK, sk=DEMO_TEMP_SK)) == (401, "APIG.0301")
    big = b'{"image": "' + b"A" * (12 * 1024 * 1024 + 10) + b'"}'
    assert error_of(signed_post(url, big)) == (413, "APIG.0201")


def test_ak_is_locked_after_repeated_signature_failures(vlocr_emulator: EmulatorHandle) -> None:
    server = vlocr_emulator  # lockout state lives in the server; use a dedicated AK via a fresh server
    from airflow_provider_vlocr.emulator import EmulatorConfig, EmulatorServer
    from airflow_provider_vlocr.emulator.config import AccessKeyConfig

    config = EmulatorConfig(access_keys=[AccessKeyConfig(ak="LOCKAK", sk="LOCKSK")], ak_lockout_seconds=60)
    with EmulatorServer(config) as fresh:
        url = f"{fresh.base_url}/v2/{config.project.id}/ocr/vehicle-license"
        for _ in range(6):
            signed_post(url, b"{}", ak="LOCKAK", sk="bad")
        locked = signed_post(url, b"{}", ak="LOCKAK", sk="LOCKSK")
        assert error_of(locked) == (401, "APIG.0301") and "limit" in locked.json()["error_msg"]
    assert server.counters()["ocr_requests"] == 0


def test_qps_limit_answers_429(vlocr_emulator: EmulatorHandle) -> None:
    image = make_image(26)
    vlocr_emulator.add_answer(image, front_reading())
    vlocr_emulator.configure(qps_limit=3)
    body = json.dumps({"image": base64.b64encode(image).decode()}).encode()
    statuses = [signed_post(ocr_url(vlocr_emulator), body).status_code for _ in range(6)]
    assert statuses.count(200) == 3 and statuses.count(429) == 3
    counters = vlocr_emulator.counters()
    assert counters["errors_by_code"]["APIG.0308"] == 3
    assert counters["max_qps"] == 6  # the offered rate, throttled requests included


def test_peak_request_rate_is_measured_over_a_sliding_second() -> None:
    counters = Counters()
    for moment in (0.0, 0.3, 0.6, 0.9, 1.2, 1.5, 3.0):
        counters.arrive(moment)
    assert counters.max_qps == 4  # 0.0..0.9 (and 0.3..1.2, 0.6..1.5): never five within one second
    counters.reset()
    assert counters.snapshot()["max_qps"] == 0


def test_project_listing_needs_auth(vlocr_emulator: EmulatorHandle) -> None:
    url = f"{vlocr_emulator.base_url}/v3/projects?name=cn-north-4"
    assert requests.get(url, timeout=5).status_code == 401
    headers = {"X-Sdk-Date": sdk_date()}
    sign_request(DEMO_AK, DEMO_SK, "GET", url, headers, b"")
    listed = requests.get(url, headers=headers, timeout=5).json()["projects"]
    assert [p["id"] for p in listed] == [vlocr_emulator.config.project.id]


def test_cli_prints_base_url_first_and_serves(tmp_path: Any) -> None:
    config = tmp_path / "emulator.json"
    config.write_text(json.dumps({"project": {"id": "p" * 32, "name": "cn-east-3"}, "latency_ms": 1}))
    process, base_url = start_emulator_process(config)
    try:
        assert base_url.startswith("http://127.0.0.1:")
        health = requests.get(f"{base_url}/_emulator/health", timeout=5).json()
        assert health["project_id"] == "p" * 32
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_cli_prints_a_ready_connection_for_every_auth_mode(monkeypatch: Any) -> None:
    from airflow_provider_vlocr.hooks.vehicle_license_ocr import VehicleLicenseOcrHook

    process, _ = start_emulator_process()
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().strip() for _ in range(6)]
        connections = {
            line.rsplit("# ", 1)[1].split()[0]: json.loads(line.split("=", 1)[1].split("'")[1])
            for line in lines
            if line.startswith("AIRFLOW_CONN_VLOCR_DEFAULT=")
        }
        assert set(connections) == {"password", "aksk", "temporary-aksk", "token"}
        for mode, conn in connections.items():
            monkeypatch.setenv("AIRFLOW_CONN_VLOCR_CLI", json.dumps(conn))
            ok, message = VehicleLicenseOcrHook("vlocr_cli").test_connection()
            assert ok, (mode, message)
    finally:
        process.terminate()
        process.wait(timeout=10)
