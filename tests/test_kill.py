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
from tests.conftest import DAGS_DIR
from tests.samples import front_reading, make_image

IMAGES = 40
CONCURRENCY = 4  # max_concurrency of vlocr_test_journal


def start_run(images: list[str], output: Path) -> subprocess.Popen[bytes]:
    conf = json.dumps({"images": images, "output_path": str(output)})
    command = [sys.executable, "-m", "airflow", "dags", "test", "vlocr_test_journal", "-c", conf]
    env = {**os.environ, "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR)}
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
