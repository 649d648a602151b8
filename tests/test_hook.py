"""The Airflow hook: no I/O in __init__, connection from the environment, masking, test_connection."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from airflow_provider_vlocr.core.errors import ConfigurationError
from airflow_provider_vlocr.hooks import vehicle_license_ocr as hook_module
from airflow_provider_vlocr.hooks.vehicle_license_ocr import VehicleLicenseOcrHook
from airflow_provider_vlocr.testing.emulator_handle import EmulatorHandle
from tests.samples import FRONT, front_reading, make_image


def test_init_does_no_io(vlocr_emulator: EmulatorHandle) -> None:
    hook = VehicleLicenseOcrHook("this_connection_does_not_exist")
    assert hook.vlocr_conn_id == "this_connection_does_not_exist"
    assert vlocr_emulator.counters()["responses_by_status"] == {}


def test_recognize_through_env_connection(vlocr_connection: dict[str, Any], vlocr_emulator: EmulatorHandle) -> None:
    image = make_image(50)
    vlocr_emulator.add_answer(image, front_reading())
    hook = VehicleLicenseOcrHook()
    response = hook.recognize(image=image, side="front", return_issuing_authority=True)
    assert response.result.name == FRONT["name"]
    assert response.result.issuing_authority == FRONT["issuing_authority"]
    assert json.loads(json.dumps(response.model_dump(mode="json")))["result"]["vin"] == FRONT["vin"]


def test_secrets_are_masked(
    vlocr_connection: dict[str, Any], vlocr_emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    masked: list[str] = []
    monkeypatch.setattr(hook_module, "mask_secret", masked.append)
    image = make_image(51)
    vlocr_emulator.add_answer(image, front_reading())
    VehicleLicenseOcrHook().recognize(image=image)
    assert vlocr_connection["password"] in masked
    assert any(value.startswith("MII") for value in masked)  # the fetched IAM token


@pytest.mark.parametrize("mode", ["password", "aksk", "temporary-aksk"])
def test_test_connection_succeeds_per_mode(
    vlocr_emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_VLOCR_T", vlocr_emulator.connection_json(mode))
    ok, message = VehicleLicenseOcrHook("vlocr_t").test_connection()
    assert ok, message
    assert vlocr_emulator.config.project.id in message
    assert vlocr_emulator.counters()["ocr_requests"] == 0  # never a billed call


def test_test_connection_failure_has_no_secret(vlocr_emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = vlocr_emulator.connection("password")
    conn["password"] = "Wrong-Password-Secret-123"
    monkeypatch.setenv("AIRFLOW_CONN_VLOCR_BAD", json.dumps(conn))
    started = time.monotonic()
    ok, message = VehicleLicenseOcrHook("vlocr_bad").test_connection()
    assert not ok and "AuthenticationError" in message
    assert "Wrong-Password-Secret-123" not in message
    assert time.monotonic() - started < 60
    conn = vlocr_emulator.connection("aksk")
    conn["extra"]["ocr_endpoint"] = conn["extra"]["iam_endpoint"] = "http://127.0.0.1:9"  # nothing listens
    monkeypatch.setenv("AIRFLOW_CONN_VLOCR_DOWN", json.dumps(conn))
    ok, message = VehicleLicenseOcrHook("vlocr_down").test_connection()
    assert not ok and "TransportError" in message and conn["extra"]["secret_access_key"] not in message


def test_local_engine_without_extra_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_VLOCR_LOCAL", json.dumps({"conn_type": "vlocr", "extra": {"engine": "gpu"}}))
    with pytest.raises(ConfigurationError, match="engine"):
        VehicleLicenseOcrHook("vlocr_local").recognize(image=b"")


@pytest.mark.parametrize("mode", ["password", "aksk", "temporary-aksk"])
def test_connection_type_survives_the_uri_round_trip(
    mode: str, vlocr_emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``get_uri()`` → ``Connection.from_uri()`` (or ``Connection(uri=…)``) → ``get_hook()``: still a vlocr hook with
    the same settings, and the URI form works as an ``AIRFLOW_CONN_*`` variable (Airflow 3.4 checks the type's name:
    one lowercase token, since ``_`` and ``-`` do not survive a URI)."""
    from airflow.models.connection import Connection as ConnectionModel
    from airflow.providers.common.compat.sdk import Connection

    conn = vlocr_emulator.connection(mode)
    fields = {k: conn[k] for k in ("login", "password") if k in conn}
    original = ConnectionModel(conn_id="vlocr_rt", conn_type="vlocr", extra=json.dumps(conn["extra"]), **fields)
    uri = original.get_uri()
    parsed = [ConnectionModel(conn_id="vlocr_rt", uri=uri)]
    if hasattr(Connection, "from_uri"):  # the task SDK's Connection (Airflow 3.1+)
        parsed.append(Connection.from_uri(uri, conn_id="vlocr_rt"))
    for back in parsed:
        assert back.conn_type == "vlocr"
        assert (back.login, back.password) == (original.login, original.password)
        assert back.extra_dejson == conn["extra"]
        hook = back.get_hook()
        assert type(hook) is VehicleLicenseOcrHook and hook.vlocr_conn_id == "vlocr_rt"
    monkeypatch.setenv("AIRFLOW_CONN_VLOCR_RT", uri)
    ok, message = VehicleLicenseOcrHook("vlocr_rt").test_connection()
    assert ok, message


def test_recognize_without_the_local_extra_names_the_pip_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a bare ImportError: recognize says which extra to install, as the connection test does."""
    import importlib.util

    from airflow_provider_vlocr.core.engines import registry

    real = importlib.util.find_spec

    def without_rapidocr(name: str, *args: object) -> object:
        return None if name == "rapidocr" else real(name)

    monkeypatch.setattr(registry.importlib.util, "find_spec", without_rapidocr)
    hook = VehicleLicenseOcrHook(engine="local")
    with pytest.raises(ConfigurationError, match=r"pip install 'airflow-provider-vlocr\[local\]'"):
        hook.recognize(image=make_image(52), side="front")
    assert "airflow-provider-vlocr[local]" in hook.test_connection()[1]
