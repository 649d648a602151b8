"""obs:// paths: Huawei OBS through its S3-compatible API, against a real S3-compatible server on loopback (moto)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_vlocr.testing.emulator_handle import EmulatorHandle
from tests.conftest import s3_client
from tests.samples import front_reading, make_image

pytest.importorskip("s3fs", reason="the obs extra is not installed")
RunDag = Callable[..., tuple[str, dict[Any, Any]]]


@pytest.fixture
def obs_connection(vlocr_emulator: EmulatorHandle, obs_server: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The vlocr connection: the emulator for OCR (AK/SK) and the S3 server for obs:// with the same keys."""
    conn = vlocr_emulator.connection("aksk")
    conn["extra"]["obs_endpoint"] = obs_server
    monkeypatch.setenv("AIRFLOW_CONN_VLOCR_DEFAULT", json.dumps(conn))
    return conn


def put_objects(conn: dict[str, Any], bucket: str, objects: dict[str, bytes]) -> None:
    s3 = s3_client(conn)
    s3.create_bucket(Bucket=bucket)
    for key, data in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=data)


def test_obs_paths_read_with_the_vlocr_connection(obs_connection: dict[str, Any]) -> None:
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    import airflow_provider_vlocr.fs.obs  # noqa: F401  (registers obs:// as the README says)

    put_objects(obs_connection, "licences", {"a/x.png": b"\x89PNG-bytes"})
    path = ObjectStoragePath("obs://licences/a/x.png", conn_id="vlocr_default")
    assert path.read_bytes() == b"\x89PNG-bytes"
    assert [p.name for p in ObjectStoragePath("obs://licences/a/", conn_id="vlocr_default").iterdir()] == ["x.png"]


def test_operator_reads_an_obs_prefix(
    obs_connection: dict[str, Any], vlocr_emulator: EmulatorHandle, run_dag: RunDag
) -> None:
    images = {f"incoming/2026-11-24/l{i}.png": make_image(1500 + i) for i in range(3)}
    images["incoming/2026-11-24/readme.txt"] = b"not an image"
    put_objects(obs_connection, "fleet", images)
    for key, data in images.items():
        if key.endswith(".png"):
            vlocr_emulator.add_answer(data, front_reading())
    state, xcoms = run_dag("vlocr_test_batch", {"images": ["obs://fleet/incoming/2026-11-24/"]})
    assert state == "success"
    items = xcoms[("collect", "return_value", -1)]["result"]
    assert [(i["source"], i["status"]) for i in items] == [
        (f"obs://fleet/incoming/2026-11-24/l{i}.png", "ok") for i in range(3)
    ]
    assert vlocr_emulator.counters()["ocr_billed"] == 3
