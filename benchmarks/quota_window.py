"""Huawei's per-minute account quota, unknown to the client, against a client told it (the baseline, same run).

The emulator (a separate process on loopback) refuses calls beyond ``--limit`` per fixed window of ``--window``
seconds with APIG.0308 stating the quota as Huawei does (``limit:300,time:1 minute``). The same distinct images go
through the batch pipeline twice: told the quota (``max_requests_per_second = limit / window``), and not told it
(the pacer reads it from the first 429). Issue 22's targets: all ok, within 1.3x the time a client knowing the quota
needs, <= 10 % of calls answered 429.

Run: ``.venv/bin/python benchmarks/quota_window.py [--limit 300 --window 60 --images 700]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from airflow_provider_vlocr.core.batch.loading import ImageLoader  # noqa: E402
from airflow_provider_vlocr.core.batch.pipeline import BatchSettings, recognize_batch  # noqa: E402
from airflow_provider_vlocr.core.connection import ConnectionSettings  # noqa: E402
from airflow_provider_vlocr.core.engines.huaweicloud.client import VehicleLicenseOcrClient  # noqa: E402
from airflow_provider_vlocr.core.models import RecognizeOptions  # noqa: E402
from airflow_provider_vlocr.core.ratelimit import AdaptivePacer  # noqa: E402
from airflow_provider_vlocr.emulator.config import EmulatorConfig  # noqa: E402
from airflow_provider_vlocr.emulator.server import connection_for  # noqa: E402
from airflow_provider_vlocr.testing.emulator_handle import EmulatorHandle, start_emulator_process  # noqa: E402
from tests.samples import front_reading, make_image  # noqa: E402


def run(limit: int, window: float, images: list[bytes], told: bool) -> dict[str, float]:
    """One batch against a fresh emulator process (a fresh quota window); its time, outcome and 429 share."""
    config = EmulatorConfig(engine="answers", latency_ms=50, quota_per_window=limit, quota_window_seconds=window)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(config.model_dump(mode="json"), handle)
    process, base_url = start_emulator_process(handle.name)
    try:
        emulator = EmulatorHandle(base_url, config)
        for image in images:
            emulator.add_answer(image, front_reading())
        extra = connection_for(base_url, config, "aksk")["extra"]
        pacer = AdaptivePacer(limit / window if told else None)
        client = VehicleLicenseOcrClient(
            ConnectionSettings.from_parts(login=None, password=None, extras=extra), rate_limiter=pacer
        )
        settings = BatchSettings(options=RecognizeOptions(side="front"), concurrency=16, progress_interval=3600)
        started = time.monotonic()
        items = list(recognize_batch(images, client, ImageLoader(), settings))
        seconds = time.monotonic() - started
        counters = emulator.counters()
        client.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
    throttled = counters["responses_by_status"].get("429", 0)
    return {"seconds": seconds, "ok": sum(i["status"] == "ok" for i in items), "calls": counters["ocr_requests"],
            "throttled": throttled, "share_429": throttled / max(1, counters["ocr_requests"])}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--images", type=int, default=700)
    args = parser.parse_args()
    images = [make_image(20_000 + i) for i in range(args.images)]  # distinct: identical bytes are sent once
    baseline = run(args.limit, args.window, images, told=True)
    unknown = run(args.limit, args.window, images, told=False)
    for name, result in (("told the quota (baseline)", baseline), ("quota unknown", unknown)):
        print(f"{name:26} {result['ok']}/{args.images} ok in {result['seconds']:.1f} s, {result['calls']} calls, "
              f"{result['throttled']} answered 429 ({result['share_429']:.1%})")  # fmt: skip
    ratio = unknown["seconds"] / baseline["seconds"]
    met = ratio <= 1.3 and unknown["share_429"] <= 0.10 and unknown["ok"] == args.images
    print(
        f"time ratio unknown/told: {ratio:.2f} (target <= 1.3), 429 share {unknown['share_429']:.1%} "
        f"(target <= 10 %) -> {'met' if met else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
