"""Throughput and memory of the operator's batch engine against the emulator (separate process, loopback).

Part 1: 200 images, emulator with 200 ms latency and a 20 requests/s limit. The batch engine (bounded concurrency +
client-side rate limit) vs a sequential loop over the same client, measured in the same run.
Part 2: peak RSS of the operator in JSON Lines mode for 50 vs 5,000 images (each in a fresh process).

Targets (issue 4): >= 90 % of the limit, zero failed images, RSS(5,000) <= 1.2 x RSS(50).
Run: ``.venv/bin/python benchmarks/throughput.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
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


def rss_child(base_url: str, count: int, distinct: int, workdir: str) -> None:
    """Runs in a fresh process: the operator in JSON Lines mode; prints peak RSS in MiB."""
    os.environ["AIRFLOW_CONN_VLOCR_DEFAULT"] = json.dumps(connection_for(base_url, EmulatorConfig(), "aksk"))
    from airflow_provider_vlocr.operators.vehicle_license_ocr import VehicleLicenseOcrOperator

    paths = []  # distinct names (links to `distinct` files): the operator sends a repeated item only once
    for i in range(count):
        link = Path(workdir) / f"link-{count}-{i}.png"
        if not link.exists():
            link.symlink_to(Path(workdir) / f"img-{i % distinct}.png")
        paths.append(str(link))
    output = Path(workdir) / f"out-{count}.jsonl"
    operator = VehicleLicenseOcrOperator(
        task_id="bench",
        images=paths,
        side="front",
        output_path=f"file://{output}",
        max_concurrency=8,
        progress_interval=3600,
        allowed_local_roots=[workdir],
    )

    class _TaskInstance:
        def xcom_push(self, key: str, value: Any) -> None:
            json.dumps(value)

    result = operator.execute({"ti": _TaskInstance()})
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines = sum(1 for _ in output.open(encoding="utf-8"))
    print(
        json.dumps({"count": count, "peak_rss_mib": round(peak_mib, 1), "ok": result["summary"]["ok"], "lines": lines})
    )


def part2(workdir: Path, sizes: tuple[int, int], distinct: int = 50) -> dict[str, Any]:
    data, answers = images(distinct)
    for i, image in enumerate(data):
        (workdir / f"img-{i}.png").write_bytes(image)
    process, base_url = start_emulator({"answers": answers, "engine": "answers"}, workdir)
    results = {}
    try:
        for count in sizes:
            out = subprocess.run(
                [sys.executable, __file__, "--rss-child", base_url, str(count), str(distinct), str(workdir)],
                capture_output=True,
                text=True,
                check=True,
            )
            results[count] = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        process.terminate()
        process.wait(timeout=10)
    small, large = (results[s] for s in sizes)
    return {
        "small": small,
        "large": large,
        "rss_ratio_large_vs_small": round(large["peak_rss_mib"] / small["peak_rss_mib"], 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--limit", type=float, default=20.0)
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rss-sizes", default="50,5000")
    parser.add_argument("--rss-child", nargs=4, metavar=("URL", "COUNT", "DISTINCT", "DIR"))
    args = parser.parse_args()
    if args.rss_child:
        url, count, distinct, workdir = args.rss_child
        rss_child(url, int(count), int(distinct), workdir)
        return 0
    with tempfile.TemporaryDirectory(prefix="vlocr-bench-") as tmp:
        workdir = Path(tmp)
        report = part1(workdir, args.images, args.limit, args.latency_ms, args.concurrency)
        print(json.dumps({"throughput": report}, indent=2))
        sizes = tuple(int(s) for s in args.rss_sizes.split(","))
        memory = part2(workdir, (sizes[0], sizes[1]))
        print(json.dumps({"memory": memory}, indent=2))
    verdict = {
        "share_of_limit_>=_0.90": report["batch_share_of_limit"] >= 0.9,
        "zero_failed": report["batch_failed"] == 0,
        "rss_ratio_<=_1.2": memory["rss_ratio_large_vs_small"] <= 1.2,
    }
    print(json.dumps({"targets_met": verdict}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
