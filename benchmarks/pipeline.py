"""Batch pipeline v2 against the emulator (a separate process on loopback), through the hook as a task would.

Each scenario prints its baseline measured in the same run:

A. 600 images, 200 ms latency, 20 req/s quota, 10 % 429 + 5 % 500 + 2 % resets, ``max_requests_per_second=20``,
   concurrency left to the pacer. Baseline: the same batch without faults. Target >= 15 img/s, 0 lost, 0 billed twice.
B. Unknown 10 req/s quota, no client limit, the 429s stating the limit (``limit:10,time:1 second``) and not stating
   it. Baseline: the quota. Target >= 8 img/s, <= 10 % answered 429.
C. 1,500 images, 50 req/s quota at 1 s latency, only ``max_requests_per_second=50``. Baseline: the quota.
   Target >= 90 %.
E. Random 429s on a healthy server, nothing known: 1,500 images at 200 ms, no quota, 10 % of calls answered 429
   ("policy ip over ratelimit"). Baseline: the same batch without the faults. Target: >= 80 % of its rate (faults
   must not throttle a healthy server).
Z. Zero latency, no limit: 3,000 images through the hook's batch path (concurrency from the pacer, and 16) against
   Huawei's SDK async client (``OcrAsyncClient``, its 8-thread executor) on other images of the same size, in the
   same run. Target: >= 80 % of the SDK's rate.
D. 200 downloads (``url_mode="download"``), 4 of them answering after 20 s. Baseline: the batch without them.
   Target: total <= 20 s + 2 x baseline.

Run: ``.venv/bin/python benchmarks/pipeline.py [--scale 1.0]`` (scale < 1 shrinks the batches for a quick look).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from airflow_provider_vlocr.emulator.config import EmulatorConfig  # noqa: E402
from airflow_provider_vlocr.emulator.server import connection_for  # noqa: E402
from airflow_provider_vlocr.testing.emulator_handle import EmulatorHandle, start_emulator_process  # noqa: E402
from tests.samples import front_reading, make_image  # noqa: E402

RETRY = {"max_attempts": 10, "initial_delay": 0.5, "max_delay": 4, "budget_seconds": 60}


def images(count: int, seed: int) -> list[bytes]:
    return [make_image(seed + i, 400, 270) for i in range(count)]


def emulator(workdir: Path, data: list[bytes], **config: Any) -> tuple[Any, EmulatorHandle]:
    answers = {hashlib.sha256(d).hexdigest(): front_reading().model_dump(mode="json") for d in data}
    path = workdir / f"emulator-{time.monotonic_ns()}.json"
    path.write_text(json.dumps({"answers": answers, "engine": "answers", **config}), encoding="utf-8")
    process, base_url = start_emulator_process(path)
    os.environ["AIRFLOW_CONN_VLOCR_DEFAULT"] = json.dumps(connection_for(base_url, EmulatorConfig(), "aksk"))
    return process, EmulatorHandle(base_url)


def run_batch(items: list[Any], **hook_args: Any) -> dict[str, Any]:
    from airflow_provider_vlocr.core.backoff import RetryPolicy
    from airflow_provider_vlocr.hooks.vehicle_license_ocr import VehicleLicenseOcrHook

    fetch = {
        "url_mode": hook_args.pop("url_mode", "auto"),
        "allowed_hosts": hook_args.pop("download_allowed_hosts", None),
    }
    hook = VehicleLicenseOcrHook(retry=RetryPolicy.from_dict(RETRY), **hook_args)
    started = time.monotonic()
    run = hook.recognize_batch(
        items, loader=hook.loader(**fetch), options=hook.options(side="front"), progress_interval=3600
    )
    records = list(run)
    seconds = time.monotonic() - started
    hook.close()
    return {
        "images": len(items),
        "seconds": round(seconds, 2),
        "images_per_s": round(len(items) / seconds, 2),
        "ok": sum(r["status"] == "ok" for r in records),
        "failed": sum(r["status"] != "ok" for r in records),
        "max_concurrency_reached": hook.pacer.concurrency(),
        "final_rate": round(hook.pacer.rate, 2),
    }


def with_emulator(workdir: Path, data: list[bytes], config: dict[str, Any], **hook_args: Any) -> dict[str, Any]:
    process, handle = emulator(workdir, data, **config)
    try:
        result = run_batch(list(data), **hook_args)
        counters = handle.counters()
    finally:
        process.terminate()
        process.wait(timeout=10)
    result["billed"] = counters["ocr_billed"]
    result["billed_twice"] = sum(n - 1 for n in counters["billed_by_image"].values() if n > 1)
    result["answered_429"] = counters["errors_by_code"].get("APIG.0308", 0)
    sent = sum(counters["responses_by_status"].values())
    result["share_429"] = round(result["answered_429"] / sent, 3) if sent else 0.0
    return result


def scenario_a(workdir: Path, scale: float) -> dict[str, Any]:
    data = images(int(600 * scale), 20_000)
    common = {"latency_ms": 200, "qps_limit": 20}
    faults = {"rate_429": 0.10, "rate_500": 0.05, "rate_reset": 0.02}
    baseline = with_emulator(workdir, data, common, max_requests_per_second=20)
    faulty = with_emulator(workdir, data, {**common, "faults": faults, "seed": 3}, max_requests_per_second=20)
    return {"baseline_no_faults": baseline, "with_faults": faulty, "target": ">= 15 img/s, 0 lost, 0 billed twice"}


def scenario_b(workdir: Path, scale: float) -> dict[str, Any]:
    config = {"latency_ms": 200, "qps_limit": 10}
    stated = with_emulator(workdir, images(int(400 * scale), 21_000), config)
    unstated = with_emulator(workdir, images(int(400 * scale), 21_500), {**config, "state_limits": False})
    return {
        "baseline_quota_rps": 10,
        "unknown_quota_stated_in_429": stated,
        "unknown_quota_not_stated": unstated,
        "target": ">= 8 img/s, <= 10 % answered 429",
    }


def scenario_e(workdir: Path, scale: float) -> dict[str, Any]:
    common = {"latency_ms": 200}
    baseline = with_emulator(workdir, images(int(1500 * scale), 23_000), common)
    faulty = with_emulator(
        workdir, images(int(1500 * scale), 25_000), {**common, "faults": {"rate_429": 0.10}, "seed": 5}
    )
    faulty["ratio_to_baseline"] = round(faulty["images_per_s"] / baseline["images_per_s"], 3)
    return {"baseline_no_faults": baseline, "random_429s": faulty, "target": ">= 0.8 x the baseline's rate"}


def sdk_async_rate(base_url: str, data: list[bytes]) -> dict[str, Any]:
    """Huawei's SDK async client over ``data``: every call submitted at once to its executor, as its docs show."""
    import base64

    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.http.http_config import HttpConfig
    from huaweicloudsdkocr import v1 as ocr

    from airflow_provider_vlocr.emulator.config import DEMO_AK, DEMO_SK

    config = HttpConfig.get_default_config()
    config.retry_times = 0
    project_id = EmulatorConfig().project.id
    client = (
        ocr.OcrAsyncClient.new_builder()
        .with_http_config(config)
        .with_credentials(BasicCredentials(DEMO_AK, DEMO_SK, project_id))
        .with_endpoints([base_url])
        .build()
    )
    started = time.monotonic()
    futures = []
    for image in data:
        body = ocr.VehicleLicenseRequestBody(image=base64.b64encode(image).decode("ascii"), side="front")
        futures.append(client.recognize_vehicle_license_async(ocr.RecognizeVehicleLicenseRequest(body=body)))
    ok = sum(1 for future in futures if future.result().result is not None)
    seconds = time.monotonic() - started
    return {"images": len(data), "seconds": round(seconds, 2), "images_per_s": round(len(data) / seconds, 1), "ok": ok}


def scenario_z(workdir: Path, scale: float) -> dict[str, Any]:
    count = int(3000 * scale)
    sdk_images, auto_images, fixed_images = (images(count, seed) for seed in (30_000, 40_000, 50_000))
    process, handle = emulator(workdir, sdk_images + auto_images + fixed_images)
    try:
        sdk = sdk_async_rate(handle.base_url, sdk_images)
        auto = run_batch(list(auto_images))
        fixed = run_batch(list(fixed_images), max_concurrency=16)
    finally:
        process.terminate()
        process.wait(timeout=10)
    for result in (auto, fixed):
        result["ratio_to_sdk"] = round(result["images_per_s"] / sdk["images_per_s"], 3)
    return {
        "baseline_sdk_async": sdk,
        "hook_batch_pacer_concurrency": auto,
        "hook_batch_concurrency_16": fixed,
        "target": ">= 0.8 x the SDK async client's rate",
    }


def scenario_c(workdir: Path, scale: float) -> dict[str, Any]:
    data = images(int(1500 * scale), 22_000)  # 30 s at the quota, so the 1 s latency tail weighs 3 %
    result = with_emulator(workdir, data, {"latency_ms": 1000, "qps_limit": 50}, max_requests_per_second=50)
    result["share_of_quota"] = round(result["images_per_s"] / 50, 3)
    return {"baseline_quota_rps": 50, "known_quota": result, "target": ">= 90 % of the quota"}


class _Slow(BaseHTTPRequestHandler):
    files: ClassVar[dict[str, bytes]] = {}
    slow: ClassVar[set[str]] = set()

    def do_GET(self) -> None:
        if self.path in self.slow:
            time.sleep(20)
        body = self.files.get(self.path, b"")
        self.send_response(200 if body else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


def scenario_d(workdir: Path, scale: float) -> dict[str, Any]:
    count = int(200 * scale)
    data = images(count, 23_000)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Slow.files = {f"/{i}.png": d for i, d in enumerate(data)}
    urls = [f"http://127.0.0.1:{server.server_address[1]}/{i}.png" for i in range(count)]
    args = {"url_mode": "download", "download_allowed_hosts": ["127.0.0.1"], "max_requests_per_second": 20}
    config = {"latency_ms": 200, "qps_limit": 20}
    try:
        _Slow.slow = set()
        baseline = with_emulator_urls(workdir, data, urls, config, **args)
        _Slow.slow = {f"/{i}.png" for i in range(0, count, max(1, count // 4))}
        slow = with_emulator_urls(workdir, data, urls, config, **args)
    finally:
        server.shutdown()
    bound = 20 + 2 * baseline["seconds"]
    return {"baseline": baseline, "four_slow": slow, "bound_s": round(bound, 1), "met": slow["seconds"] <= bound}


def with_emulator_urls(
    workdir: Path, data: list[bytes], urls: list[str], config: dict[str, Any], **args: Any
) -> dict[str, Any]:
    process, _ = emulator(workdir, data, **config)
    try:
        return run_batch(urls, **args)
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--only", default="ABCDEZ")
    args = parser.parse_args()
    scenarios = {"A": scenario_a, "B": scenario_b, "C": scenario_c, "D": scenario_d, "E": scenario_e, "Z": scenario_z}
    with tempfile.TemporaryDirectory(prefix="vlocr-bench-") as tmp:
        for name in args.only:
            print(json.dumps({name: scenarios[name](Path(tmp), args.scale)}, indent=2), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
