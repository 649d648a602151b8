"""The demo: sample licences, the emulator, a fresh SQLite Airflow, ``airflow dags test``, a table of records.

Run with ``make demo`` (which installs everything first). Nothing here needs a cloud account or the network:
the emulator listens on 127.0.0.1 and recognises with the offline engine when it is installed, otherwise from
the generator's ground truth (an answers file).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from airflow_provider_vlocr.testing.emulator_handle import start_emulator_process
from airflow_provider_vlocr.testing.licence_generator import generate

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / ".demo"
SHOWN = ("number", "side", "vin", "name", "register_date", "gross_mass", "dimension", "valid", "findings")


def run(cmd: list[str], env: dict[str, str], log: Path) -> None:
    with log.open("a", encoding="utf-8") as out:
        out.write(f"\n$ {' '.join(cmd)}\n")
        out.flush()
        done = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        print(log.read_text(encoding="utf-8")[-6000:])
        raise SystemExit(f"command failed ({done.returncode}): {' '.join(cmd)}; full log in {log}")


def main() -> int:
    shutil.rmtree(DEMO, ignore_errors=True)
    samples, home = DEMO / "samples", DEMO / "airflow"
    samples.mkdir(parents=True)
    home.mkdir()
    truth: dict[str, dict[str, str]] = {}
    answers: dict[str, dict] = {}
    for sample in generate(3, seed=2026, variants=("clean", "photo")):
        (samples / sample.name).write_bytes(sample.image)
        truth[sample.name] = sample.truth
        answers[hashlib.sha256(sample.image).hexdigest()] = sample.answer()
    print(f"generated {len(truth)} sample licence photos in {samples}")
    config = DEMO / "emulator.json"
    config.write_text(json.dumps({"answers": answers, "latency_ms": 100, "qps_limit": 10}), encoding="utf-8")
    emulator, base_url = start_emulator_process(config)
    try:
        assert emulator.stdout is not None
        engine = emulator.stdout.readline().strip()
        print(f"emulator at {base_url} ({engine})")
        conn = {
            "conn_type": "vlocr",
            "login": "demo-user",
            "password": "demo-password-Vlocr1",
            "extra": {
                "domain_name": "demo-account",
                "region": "cn-north-4",
                "ocr_endpoint": base_url,
                "iam_endpoint": base_url,
            },
        }
        database = DEMO / "records.sqlite"
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "example_dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW_CONN_VLOCR_DEFAULT": json.dumps(conn),
            "VLOCR_EXAMPLE_FOLDER": f"file://{samples}",
            "VLOCR_EXAMPLE_DATABASE": str(database),
        }
        airflow = str(Path(sys.executable).with_name("airflow"))
        log = DEMO / "airflow.log"
        started = time.monotonic()
        run([airflow, "db", "migrate"], env, log)
        run([airflow, "dags", "test", "vlocr_example_mapped"], env, log)
        print(f"airflow dags test vlocr_example_mapped: success in {time.monotonic() - started:.1f}s (log: {log})")
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
    with sqlite3.connect(database) as db:
        db.row_factory = sqlite3.Row
        rows = [dict(r) for r in db.execute("SELECT * FROM vehicle_licence ORDER BY source")]
    print(f"\n{len(rows)} records in {database} (table vehicle_licence):\n")
    table = [[Path(r["source"]).name] + [_cell(r.get(c)) for c in SHOWN] for r in rows]
    headers = ["image", *SHOWN]
    widths = [max(_width(x) for x in col) for col in zip(headers, *table, strict=False)]
    for line in [headers, ["-" * w for w in widths], *table]:
        print("  ".join(_pad(cell, w) for cell, w in zip(line, widths, strict=True)))
    checked = exact = 0
    for r in rows:
        expected = truth[Path(r["source"]).name]
        for key, value in expected.items():
            if key in r and key != "issuing_authority":
                checked += 1
                exact += (r[key] or "") == value
    if "engine: answers" in engine:
        print(
            f"\n{exact}/{checked} fields equal the ground truth, by construction: the emulator replayed the answers "
            "file because the offline engine is not installed (pip install 'airflow-provider-vlocr[local]')."
        )
    else:
        print(f"\nfields read by the offline engine equal to the generator's ground truth: {exact}/{checked}")
    return 0


def _cell(value: object) -> str:
    if value is None:
        return ""
    if value in (0, 1) and not isinstance(value, str):
        return "yes" if value else "NO"
    return str(value)


def _width(text: str) -> int:
    return sum(2 if ord(c) > 0x2E80 else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


if __name__ == "__main__":
    sys.exit(main())
