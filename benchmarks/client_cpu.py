"""CPU per call of our client vs Huawei's own SDK (huaweicloudsdkocr), against the emulator in another process.

The baseline is the SDK, measured in the same run on the same distinct images (each call the next one): 640x400
JPEGs and ~3 MB images. Both sides start from image bytes (the SDK needs the base64 text, so its encoding is
counted too). CPU is this process's ``time.process_time`` (all threads), so the emulator's own work is not counted.
Targets: <= 0.8x the SDK for the small JPEG and <= 0.6x for the 3 MB image (hook, AK/SK and IAM token); the
operator's batch path <= 0.9x, measured with 1 and 4 calls in flight (each image is handed to a worker thread and
back; with more in flight the main thread collects several answers a wake-up). The pacer is given a rate far above
what is sent, so its slow start does not hold the batch back.

Run: ``.venv/bin/python benchmarks/client_cpu.py [--calls 40]``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib
import io
import itertools
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from airflow_provider_vlocr.emulator.config import DEMO_AK, DEMO_SK, EmulatorConfig  # noqa: E402
from airflow_provider_vlocr.emulator.server import connection_for  # noqa: E402
from airflow_provider_vlocr.testing.emulator_handle import start_emulator_process  # noqa: E402
from tests.samples import front_reading, make_image  # noqa: E402


def big_image(seed: int = 11) -> bytes:
    """A ~3 MB PNG (noise does not compress)."""
    from PIL import Image

    picture = Image.frombytes("RGB", (1000, 1000), random.Random(seed).randbytes(3_000_000))
    out = io.BytesIO()
    picture.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def cpu_per_call(call: Callable[[], Any], calls: int) -> float:
    call()  # warm-up: connections, tokens, project id
    started = time.process_time()
    for _ in range(calls):
        call()
    return (time.process_time() - started) / calls * 1000


def sdk_caller(base_url: str, project_id: str, images: list[bytes]) -> Callable[[], Any]:
    os.environ.setdefault("HOME", tempfile.mkdtemp())
    credentials = importlib.import_module("huaweicloudsdkcore.auth.credentials")
    http_config = importlib.import_module("huaweicloudsdkcore.http.http_config")
    ocr = importlib.import_module("huaweicloudsdkocr.v1")
    config = http_config.HttpConfig.get_default_config()
    config.retry_times = 0
    client = (
        ocr.OcrClient.new_builder()
        .with_http_config(config)
        .with_credentials(credentials.BasicCredentials(DEMO_AK, DEMO_SK, project_id))
        .with_endpoints([base_url])
        .build()
    )

    turn = itertools.cycle(images)

    def call() -> Any:
        body = ocr.VehicleLicenseRequestBody(image=base64.b64encode(next(turn)).decode("ascii"), side="front")
        return client.recognize_vehicle_license(ocr.RecognizeVehicleLicenseRequest(body=body))

    return call


def hook_caller(base_url: str, mode: str, images: list[bytes]) -> Callable[[], Any]:
    from airflow_provider_vlocr.core.connection import ConnectionSettings
    from airflow_provider_vlocr.core.engines.huaweicloud.client import VehicleLicenseOcrClient
    from airflow_provider_vlocr.core.models import RecognizeOptions

    conn = connection_for(base_url, EmulatorConfig(), mode)
    settings = ConnectionSettings.from_parts(
        login=conn.get("login"), password=conn.get("password"), extras=conn["extra"]
    )
    client = VehicleLicenseOcrClient(settings)
    options = RecognizeOptions(side="front")
    turn = itertools.cycle(images)
    return lambda: client.recognize(image=next(turn), options=options)


def batch_cpu_per_call(base_url: str, images: list[bytes], concurrency: int) -> float:
    """The operator's batch path: one ``hook.recognize_batch`` over distinct images, ``concurrency`` in flight;
    CPU ms per image."""
    os.environ["AIRFLOW_CONN_VLOCR_DEFAULT"] = json.dumps(connection_for(base_url, EmulatorConfig(), "aksk"))
    from airflow_provider_vlocr.hooks.vehicle_license_ocr import VehicleLicenseOcrHook

    hook = VehicleLicenseOcrHook(max_concurrency=concurrency, max_requests_per_second=10_000)
    options = hook.options(side="front")
    list(hook.recognize_batch(images[:1], options=options, progress_interval=3600))  # warm-up
    started = time.process_time()
    records = list(hook.recognize_batch(images[1:], options=options, progress_interval=3600))
    assert all(r["status"] == "ok" for r in records), records[:1]
    return (time.process_time() - started) / len(records) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=40)
    args = parser.parse_args()
    smalls = [make_image(31 + i, 640, 400, fmt="JPEG") for i in range(args.calls + 1)]
    larges = [big_image(11 + i) for i in range(11)]
    answers = {hashlib.sha256(d).hexdigest(): front_reading().model_dump(mode="json") for d in smalls + larges}
    with tempfile.TemporaryDirectory(prefix="vlocr-cpu-") as tmp:
        config_path = Path(tmp) / "emulator.json"
        config_path.write_text(json.dumps({"answers": answers, "engine": "answers"}), encoding="utf-8")
        process, base_url = start_emulator_process(config_path)
        try:
            project_id = EmulatorConfig().project.id
            report: dict[str, Any] = {}
            cases = (("640x400 JPEG", smalls, args.calls, 0.8), ("3 MB", larges, 10, 0.6))
            for label, batch_images, calls, target in cases:
                sdk_ms = cpu_per_call(sdk_caller(base_url, project_id, batch_images), calls)
                row: dict[str, Any] = {"bytes": len(batch_images[0]), "sdk_cpu_ms (baseline)": round(sdk_ms, 2)}
                for mode in ("aksk", "password"):
                    ours = cpu_per_call(hook_caller(base_url, mode, batch_images), calls)
                    row[f"hook_{mode}_cpu_ms"] = round(ours, 2)
                    row[f"hook_{mode}_ratio"] = round(ours / sdk_ms, 3)
                    row[f"hook_{mode}_met (<= {target}x)"] = ours / sdk_ms <= target
                for concurrency in (1, 4):
                    batch = batch_cpu_per_call(base_url, batch_images, concurrency)
                    row[f"batch_path_{concurrency}_in_flight_cpu_ms"] = round(batch, 2)
                    row[f"batch_path_{concurrency}_in_flight_ratio"] = round(batch / sdk_ms, 3)
                    row[f"batch_path_{concurrency}_in_flight_met (<= 0.9x)"] = batch / sdk_ms <= 0.9
                report[label] = row
        finally:
            process.terminate()
            process.wait(timeout=10)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
