"""Fidelity: Huawei's own SDK (huaweicloudsdkocr) cannot tell the emulator from the real service."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_vlocr.core.connection import ConnectionSettings
from airflow_provider_vlocr.core.engines.huaweicloud.client import VehicleLicenseOcrClient
from airflow_provider_vlocr.core.models import RecognizeOptions
from airflow_provider_vlocr.emulator.config import DEMO_AK, DEMO_SK
from airflow_provider_vlocr.testing.emulator_handle import EmulatorHandle
from tests.samples import BACK, FRONT, double_reading, make_image


def sdk_client(emulator: EmulatorHandle, sk: str, home: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("HOME", str(home))  # the SDK writes ~/.huaweicloud/application_id
    core_credentials = importlib.import_module("huaweicloudsdkcore.auth.credentials")
    http_config = importlib.import_module("huaweicloudsdkcore.http.http_config")
    ocr = importlib.import_module("huaweicloudsdkocr.v1")
    config = http_config.HttpConfig.get_default_config()
    config.retry_times = 0
    credentials = core_credentials.BasicCredentials(DEMO_AK, sk, emulator.config.project.id)
    return (
        ocr.OcrClient.new_builder()
        .with_http_config(config)
        .with_credentials(credentials)
        .with_endpoints([emulator.base_url])
        .build()
    ), ocr


def sdk_request(ocr: Any, image_b64: str) -> Any:
    body = ocr.VehicleLicenseRequestBody(
        image=image_b64, side="double_side", return_issuing_authority=True, return_text_location=True
    )
    return ocr.RecognizeVehicleLicenseRequest(body=body)


def test_sdk_signed_call_gets_200_and_parsed_result(
    vlocr_emulator: EmulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = make_image(40)
    vlocr_emulator.add_answer(image, double_reading())
    client, ocr = sdk_client(vlocr_emulator, DEMO_SK, tmp_path, monkeypatch)
    response = client.recognize_vehicle_license(sdk_request(ocr, vlocr_emulator.b64(image)))
    assert response.result.front.number == FRONT["number"]
    assert response.result.front.issuing_authority == FRONT["issuing_authority"]
    assert response.result.back.gross_mass == BACK["gross_mass"]
    assert response.x_request_id
    assert vlocr_emulator.billed(image) == 1

    # Our hook's client gets the same result through every auth mode.
    expected = response.result.to_dict()
    for mode in ("password", "aksk", "temporary-aksk"):
        conn = vlocr_emulator.connection(mode)
        ours = VehicleLicenseOcrClient(
            ConnectionSettings.from_parts(login=conn.get("login"), password=conn.get("password"), extras=conn["extra"])
        ).recognize(
            image=image,
            options=RecognizeOptions(side="double_side", return_issuing_authority=True, return_text_location=True),
        )
        mine = ours.result.to_api_dict()
        for page in ("front", "back"):
            sdk_page = {k: v for k, v in expected[page].items() if v is not None}
            assert {k: v for k, v in mine[page].items() if k in sdk_page} == sdk_page


def test_sdk_wrong_sk_gets_401_apig_0301(
    vlocr_emulator: EmulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = make_image(41)
    vlocr_emulator.add_answer(image, double_reading())
    client, ocr = sdk_client(vlocr_emulator, "WrongSecretKey" + "0" * 26, tmp_path, monkeypatch)
    exceptions = importlib.import_module("huaweicloudsdkcore.exceptions.exceptions")
    with pytest.raises(exceptions.ClientRequestException) as info:
        client.recognize_vehicle_license(sdk_request(ocr, vlocr_emulator.b64(image)))
    assert info.value.status_code == 401
    assert info.value.error_code == "APIG.0301"
    assert vlocr_emulator.billed(image) == 0
