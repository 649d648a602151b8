"""Peak memory of the operator in JSON Lines mode: a large batch against a small one, distinct images, same run.

Each size runs in a fresh process (the operator on a folder of distinct PNGs, ``output_path`` a local JSON Lines
file, 16 in flight) against the emulator (another process, the answers engine, no latency); the baseline is the
small batch. Peak RSS is the process's ``ru_maxrss``. With ``--xcom`` the same batches go to XCom instead, whose
growth must stay proportional to the XCom returned. ``--trace`` prints the largest allocation sites left at the
end of the large batch (tracemalloc), to find per-image state.

Target (issue 22): RSS(20,000) <= 1.2 x RSS(50) in JSON Lines mode.
Run: ``.venv/bin/python benchmarks/memory.py [--sizes 50,20000] [--xcom] [--trace]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from airflow_provider_vlocr.emulator.config import EmulatorConfig  # noqa: E402
from airflow_provider_vlocr.emulator.server import connection_for  # noqa: E402
from airflow_provider_vlocr.testing.emulator_handle import start_emulator_process  # noqa: E402
from tests.samples import front_reading, make_image  # noqa: E402

FOLDER_SIZE = 5_000  # images per folder item (the operator expands a folder to 10,000 images at most)


def distinct_pngs(count: int) -> list[bytes]:
    """``count`` PNGs that differ in their bytes (a tEXt chunk naming the index) over one drawn licence photo."""
    base = make_image(42, 400, 270)
    end = base.rindex(b"IEND") - 4  # the IEND chunk starts with its length

    def chunk(index: int) -> bytes:
        body = b"tEXt" + b"vlocr\x00" + str(index).encode()
        return struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))

    return [base[:end] + chunk(i) + base[end:] for i in range(count)]


def child(base_url: str, folder: str, output: str | None, trace: bool) -> None:
    """In a fresh process: the operator over ``folder``; prints peak RSS (MiB) and the items written."""
    if trace:
        import tracemalloc

        tracemalloc.start(5)
    os.environ["AIRFLOW_CONN_VLOCR_DEFAULT"] = json.dumps(connection_for(base_url, EmulatorConfig(), "aksk"))
    from airflow_provider_vlocr.operators.vehicle_license_ocr import VehicleLicenseOcrOperator

    folders = sorted(f"{child}/" for child in Path(folder).iterdir())  # a folder expands to 10,000 images at most
    operator = VehicleLicenseOcrOperator(
        task_id="bench",
        images=folders,
        side="front",
        output_path=f"file://{output}" if output else None,
        max_concurrency=16,
        progress_interval=3600,
        allowed_local_roots=[folder],
    )

    class _TaskInstance:
        def xcom_push(self, key: str, value: Any) -> None:
            json.dumps(value)

    started = time.monotonic()
    result = operator.execute({"ti": _TaskInstance()})
    seconds = time.monotonic() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    summary = result["summary"] if output else {"ok": sum(r.get("status") == "ok" for r in result)}
    if trace:
        import tracemalloc

        for stat in tracemalloc.take_snapshot().statistics("traceback")[:8]:
            print(f"{stat.size / 1024:9.0f} KiB {stat.count:8d} blocks", *stat.traceback.format()[-4:], sep="\n  ")
    print(json.dumps({"peak_rss_mib": round(peak_mib, 1), "ok": summary["ok"], "seconds": round(seconds, 1)}))


def run_size(workdir: Path, base_url: str, count: int, xcom: bool, trace: bool) -> dict[str, Any]:
    folder = workdir / f"images-{count}"
    output = None if xcom else str(workdir / f"out-{count}.jsonl")
    command = [sys.executable, __file__, "--child", base_url, str(folder), output or "-"]
    out = subprocess.run(command + (["--trace"] if trace else []), capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"the {count}-image run failed:\n{out.stderr[-3000:]}")
    if trace:
        print("\n".join(out.stdout.strip().splitlines()[:-1]))
    return {"images": count, **json.loads(out.stdout.strip().splitlines()[-1])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="50,20000")
    parser.add_argument("--xcom", action="store_true")
    parser.add_argument("--trace", action="store_true")
    parser.add_argument("--child", nargs=3, metavar=("URL", "FOLDER", "OUTPUT"))
    args = parser.parse_args()
    if args.child:
        url, folder, output = args.child
        child(url, folder, None if output == "-" else output, args.trace)
        return 0
    small, large = (int(size) for size in args.sizes.split(","))
    with tempfile.TemporaryDirectory(prefix="vlocr-memory-") as tmp:
        workdir = Path(tmp)
        images = distinct_pngs(large)
        answer = front_reading().model_dump(mode="json")
        for count in (small, large):
            folder = workdir / f"images-{count}"
            for index, image in enumerate(images[:count]):
                shard = folder / f"shard-{index // FOLDER_SIZE:03d}"
                shard.mkdir(parents=True, exist_ok=True)
                (shard / f"licence-{index:07d}.png").write_bytes(image)
        config = workdir / "emulator.json"
        answers = {hashlib.sha256(image).hexdigest(): answer for image in images}
        config.write_text(json.dumps({"engine": "answers", "answers": answers}), encoding="utf-8")
        process, base_url = start_emulator_process(config)
        try:
            baseline = run_size(workdir, base_url, small, args.xcom, False)
            measured = run_size(workdir, base_url, large, args.xcom, args.trace)
        finally:
            process.terminate()
            process.wait(timeout=10)
    ratio = measured["peak_rss_mib"] / baseline["peak_rss_mib"]
    mode = "xcom" if args.xcom else "json_lines"
    report = {"mode": mode, "baseline": baseline, "large": measured, "rss_ratio": round(ratio, 3)}
    if not args.xcom:
        report["target_met (<= 1.2x)"] = ratio <= 1.2
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
