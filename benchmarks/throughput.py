"""Throughput of the operator's batch engine against the emulator (separate process, loopback).

200 images, emulator with 200 ms latency and a 20 requests/s limit. The batch engine (bounded concurrency +
client-side rate limit) vs a sequential loop over the same client, measured in the same run. (Memory:
benchmarks/memory.py.)

Targets (issue 4): >= 90 % of the limit, zero failed images.
Run: ``.venv/bin/python benchmarks/throughput.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from airflow_provider_vlocr.core.backoff import RetryPolicy  # noqa: E402
from airflow_provider_vlocr.core.batch.inputs import ImageTask  # noqa: E402
from airflow_provider_vlocr.core.batch.scheduler import run_batch  # noqa: E402
from airflow_provider_vlocr.core.connection import ConnectionSettings  # noqa: E402
from airflow_provider_vlocr.core.engines.huaweicloud.client import VehicleLicenseOcrClient  # noqa: E402
from airflow_provider_vlocr.core.models import RecognizeOptions  # noqa: E402
from airflow_provider_vlocr.core.ratelimit import RateLimiter  # noqa: E402
from airflow_provider_vlocr.emulator.config import EmulatorConfig  # noqa: E402
from airflow_provider_vlocr.emulator.server import connection_for  # noqa: E402
from airflow_provider_vlocr.testing.emulator_handle import start_emulator_process  # noqa: E402
from tests.samples import front_reading, make_image  # noqa: E402


def start_emulator(config: dict[str, Any], workdir: Path) -> tuple[subprocess.Popen[str], str]:
    path = workdir / f"emulator-{time.monotonic_ns()}.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return start_emulator_process(path)


def counters(base_url: str) -> dict[str, Any]:
    import requests

    return requests.get(f"{base_url}/_emulator/counters", timeout=10).json()  # type: ignore[no-any-return]


def images(count: int) -> tuple[list[bytes], dict[str, Any]]:
    data = [make_image(10_000 + i, 400, 270) for i in range(count)]
    answers = {hashlib.sha256(d).hexdigest(): front_reading().model_dump(mode="json") for d in data}
    return data, answers


def client_for(base_url: str, rate: float | None, pool: int) -> VehicleLicenseOcrClient:
    conn = connection_for(base_url, EmulatorConfig(), "aksk")
    settings = ConnectionSettings.from_parts(login=None, password=None, extras=conn["extra"])
    return VehicleLicenseOcrClient(
        settings,
        retry=RetryPolicy(max_attempts=10, initial_delay=0.5, max_delay=4, budget_seconds=60),
        pool_size=pool,
        rate_limiter=RateLimiter(rate) if rate else None,
    )


def part1(workdir: Path, n: int, limit: float, latency_ms: int, concurrency: int) -> dict[str, Any]:
    data, answers = images(n)
    process, base_url = start_emulator(
        {"answers": answers, "latency_ms": latency_ms, "qps_limit": limit, "engine": "answers"}, workdir
    )
    try:
        options = RecognizeOptions(side="front")
        sequential = client_for(base_url, None, 1)
        started = time.monotonic()
        failed_seq = 0
        for i, image in enumerate(data):
            try:
                sequential.recognize(image=image, options=options, image_name=f"img-{i}")
            except Exception:  # counted, not hidden
                failed_seq += 1
        seq_seconds = time.monotonic() - started
        before = counters(base_url)
        batch = client_for(base_url, limit, concurrency)
        tasks = [ImageTask(i, f"img-{i}", f"img-{i}", "bytes", d) for i, d in enumerate(data)]
        started = time.monotonic()
        outcomes = list(
            run_batch(
                tasks,
                lambda t: batch.recognize(image=t.value, options=options, image_name=t.source),  # type: ignore[arg-type]
                total=n,
                max_concurrency=concurrency,
                progress_interval=3600,
                report=lambda p: None,
            )
        )
        batch_seconds = time.monotonic() - started
        after = counters(base_url)
    finally:
        process.terminate()
        process.wait(timeout=10)
    failed = sum(1 for o in outcomes if not o.ok)
    rate = n / batch_seconds
    throttled = after["errors_by_code"].get("APIG.0308", 0) - before["errors_by_code"].get("APIG.0308", 0)
    return {
        "images": n,
        "limit_rps": limit,
        "latency_ms": latency_ms,
        "max_concurrency": concurrency,
        "sequential_images_per_s": round(n / seq_seconds, 2),
        "sequential_failed": failed_seq,
        "batch_images_per_s": round(rate, 2),
        "batch_share_of_limit": round(rate / limit, 3),
        "speedup_vs_sequential": round(seq_seconds / batch_seconds, 2),
        "batch_failed": failed,
        "batch_429s_seen": throttled,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--limit", type=float, default=20.0)
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vlocr-bench-") as tmp:
        workdir = Path(tmp)
        report = part1(workdir, args.images, args.limit, args.latency_ms, args.concurrency)
        print(json.dumps({"throughput": report}, indent=2))
    verdict = {
        "share_of_limit_>=_0.90": report["batch_share_of_limit"] >= 0.9,
        "zero_failed": report["batch_failed"] == 0,
    }
    print(json.dumps({"targets_met": verdict}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
