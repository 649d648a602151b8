"""Never pay twice: a real ``airflow dags test`` process killed mid-batch (SIGKILL, SIGTERM), then run again.

Billed calls are counted at the emulator. After SIGKILL the second run re-bills at most the calls that were in
flight (max_concurrency); after SIGTERM (``on_kill``) it re-bills nothing. The final JSON Lines file holds exactly
one record per input, in input order.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_vlocr.testing.emulator_handle import EmulatorHandle
from tests.conftest import DAGS_DIR, s3_client
from tests.samples import front_reading, make_image

IMAGES = 40
CONCURRENCY = 4  # max_concurrency of vlocr_test_journal


def start_run(images: list[str], output: Path | str, **env_vars: str) -> subprocess.Popen[bytes]:
    conf = json.dumps({"images": images, "output_path": str(output)})
    command = [sys.executable, "-m", "airflow", "dags", "test", "vlocr_test_journal", "-c", conf]
    env = {**os.environ, "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR), **env_vars}
    return subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )


def wait_for_billed(emulator: EmulatorHandle, at_least: int, process: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        billed = int(emulator.counters()["ocr_billed"])
        if billed >= at_least:
            return billed
        assert process.poll() is None, "the run ended before it was killed"
        time.sleep(0.05)
    raise AssertionError("the batch never got going")


@pytest.fixture
def batch(vlocr_emulator: EmulatorHandle, tmp_path: Path, airflow_db: Path) -> tuple[list[str], Path]:
    paths = []
    for i in range(IMAGES):
        image = make_image(7000 + i)
        vlocr_emulator.add_answer(image, front_reading())
        path = tmp_path / f"k-{i:03d}.png"
        path.write_bytes(image)
        paths.append(str(path))
    vlocr_emulator.configure(latency_ms=300)
    return paths, tmp_path / "out" / "records.jsonl"


def final_records(output: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killed_batch_resumes_without_paying_twice(
    vlocr_connection: dict[str, Any], vlocr_emulator: EmulatorHandle, batch: tuple[list[str], Path], sig: int
) -> None:
    paths, output = batch
    first = start_run(paths, output)
    wait_for_billed(vlocr_emulator, 12, first)
    os.killpg(first.pid, sig) if sig == signal.SIGKILL else first.send_signal(sig)
    first.wait(timeout=60)
    time.sleep(1.0)  # calls the server had received finish (and are billed) even if their client is gone
    billed_first = int(vlocr_emulator.counters()["ocr_billed"])
    assert billed_first < IMAGES, "the first run finished before the kill"
    recorded = [r for r in final_records(output) if r.get("status") == "ok"] if output.exists() else []
    second = start_run(paths, output)
    assert second.wait(timeout=180) == 0
    counters = vlocr_emulator.counters()
    rebilled = int(counters["ocr_billed"]) - IMAGES
    if sig == signal.SIGTERM:
        assert rebilled == 0, f"SIGTERM: {rebilled} image(s) billed twice"
    else:
        assert 0 <= rebilled <= CONCURRENCY, f"SIGKILL: {rebilled} re-billed, more than the {CONCURRENCY} in flight"
    name = signal.Signals(sig).name
    print(f"{name}: billed before the kill {billed_first}, recorded {len(recorded)}, re-billed {rebilled}")
    assert len(recorded) >= billed_first - CONCURRENCY  # answered calls were durable before the kill
    records = final_records(output)
    assert len(records) == IMAGES and [r["index"] for r in records] == list(range(IMAGES))
    assert all(r["status"] == "ok" for r in records)
    assert len({r["key"] for r in records}) == IMAGES


def test_killed_batch_on_object_storage_resumes_on_another_machine(
    vlocr_emulator: EmulatorHandle,
    obs_server: str,
    batch: tuple[list[str], Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``output_path`` on an S3-compatible server (obs://): SIGKILL mid-batch, then the retry runs with a fresh
    spool folder, as on another machine. Every answer was on the storage before its slot was reused, so the retry
    re-bills at most the calls in flight."""
    pytest.importorskip("s3fs", reason="the obs extra is not installed")
    paths, _ = batch
    conn = vlocr_emulator.connection("aksk")
    conn["extra"]["obs_endpoint"] = obs_server
    monkeypatch.setenv("AIRFLOW_CONN_VLOCR_DEFAULT", json.dumps(conn))
    s3 = s3_client(conn)
    s3.create_bucket(Bucket="vlocr-kill")
    output = "obs://vlocr-kill/nightly/records.jsonl"
    first = start_run(paths, output, VLOCR_SPOOL_DIR=str(tmp_path / "machine-a"))
    wait_for_billed(vlocr_emulator, 12, first)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=60)
    time.sleep(1.0)  # calls the server had received finish (and are billed) even if their client is gone
    billed_first = int(vlocr_emulator.counters()["ocr_billed"])
    assert billed_first < IMAGES, "the first run finished before the kill"
    parts = s3.list_objects_v2(Bucket="vlocr-kill", Prefix="nightly/records.jsonl.parts/").get("Contents", [])
    on_storage = sum(
        len(s3.get_object(Bucket="vlocr-kill", Key=part["Key"])["Body"].read().splitlines()) for part in parts
    )
    second = start_run(paths, output, VLOCR_SPOOL_DIR=str(tmp_path / "machine-b"))
    assert second.wait(timeout=180) == 0
    rebilled = int(vlocr_emulator.counters()["ocr_billed"]) - IMAGES
    print(f"object storage, SIGKILL: billed before {billed_first}, on the storage {on_storage}, re-billed {rebilled}")
    assert on_storage >= billed_first - CONCURRENCY  # answered calls were on the storage before the kill
    assert 0 <= rebilled <= CONCURRENCY, f"{rebilled} re-billed, more than the {CONCURRENCY} in flight"
    body = s3.get_object(Bucket="vlocr-kill", Key="nightly/records.jsonl")["Body"].read().decode("utf-8")
    records = [json.loads(line) for line in body.splitlines()]
    assert [r["index"] for r in records] == list(range(IMAGES)) and all(r["status"] == "ok" for r in records)
    assert not s3.list_objects_v2(Bucket="vlocr-kill", Prefix="nightly/records.jsonl.parts/").get("Contents")
