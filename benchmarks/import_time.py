"""DAG-parse cost: importing the operator module over ``airflow.sdk`` (target: at most 50 ms more).

Each sample is a fresh interpreter: the baseline imports ``airflow.sdk`` alone, the measured run imports it and
then the operator module; the difference of the medians is the operator's own cost. Run:
``.venv/bin/python benchmarks/import_time.py [--runs 15]``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

PROBE = (
    "import time; t0 = time.perf_counter(); import airflow.sdk; t1 = time.perf_counter(); {extra}; "
    "t2 = time.perf_counter(); print((t1 - t0) * 1000, (t2 - t1) * 1000)"
)
OPERATOR = "import airflow_provider_vlocr.operators.vehicle_license_ocr"


def sample(extra: str) -> tuple[float, float]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(extra=extra)], capture_output=True, text=True, check=True, timeout=120
    )
    sdk_ms, extra_ms = (float(v) for v in out.stdout.split())
    return sdk_ms, extra_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    baseline = [sample("pass") for _ in range(args.runs)]
    measured = [sample(OPERATOR) for _ in range(args.runs)]
    sdk = statistics.median(s for s, _ in baseline)
    operator = statistics.median(e for _, e in measured)
    print(f"airflow.sdk alone: median {sdk:.1f} ms over {args.runs} fresh interpreters (baseline)")
    print(
        f"operator module on top of airflow.sdk: median {operator:.1f} ms (p90 "
        f"{statistics.quantiles([e for _, e in measured], n=10)[-1]:.1f} ms)"
    )
    print(f"ratio operator/sdk: {operator / sdk:.3f}; target: <= 50 ms -> {'met' if operator <= 50 else 'MISSED'}")


if __name__ == "__main__":
    main()
