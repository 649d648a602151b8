"""Accuracy and speed of the offline engine on generated licences and on Huawei's real demo photo.

Field exact-match per field and per degradation on generated images (default 9 vehicles × 2 pages × 9 variants =
162 images), plus ``../shared/data/real/`` (skipped when absent); median and p90 seconds per image, peak RSS,
how many times the model was loaded. Targets (issue 5): >= 97 % exact fields on generated images, >= 20 of 22
fields on the real two-page photo, median <= 2.0 s per image on 2 cores, the model loaded once.
Run: ``.venv/bin/python benchmarks/accuracy.py [--vehicles 9] [--seed 7]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from airflow_provider_vlocr.core.engines.local import LocalEngine  # noqa: E402
from airflow_provider_vlocr.core.models import RecognizeOptions  # noqa: E402
from airflow_provider_vlocr.testing.licence_generator import VARIANTS, generate  # noqa: E402

REAL = REPO.parent / "shared" / "data" / "real"


def score(
    engine: LocalEngine, image: bytes, side: str, truth: dict[str, dict[str, str]]
) -> tuple[dict[str, bool], float]:
    started = time.monotonic()
    response = engine.recognize(image=image, options=RecognizeOptions(side=side, return_issuing_authority=True))  # type: ignore[arg-type]
    seconds = time.monotonic() - started
    result = response.result.model_dump()
    hits = {}
    for page, fields in truth.items():
        got = (result.get(page) or {}) if side == "double_side" else result
        for key, value in fields.items():
            hits[f"{page}.{key}"] = (got.get(key) or "") == value
    return hits, seconds


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vehicles", type=int, default=9)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args()
    engine = LocalEngine()
    warm = next(generate(1, seed=999, variants=("clean",)))
    engine.recognize(image=warm.image)  # load the model outside the timings
    per_field: dict[str, Counter[bool]] = defaultdict(Counter)
    per_variant: dict[str, Counter[bool]] = defaultdict(Counter)
    seconds: list[float] = []
    images = all_exact = 0
    misses: list[str] = []
    for sample in generate(args.vehicles, seed=args.seed, variants=VARIANTS):
        hits, took = score(engine, sample.image, sample.side, {sample.side: sample.truth})
        images += 1
        seconds.append(took)
        all_exact += all(hits.values())
        for key, ok in hits.items():
            per_field[key][ok] += 1
            per_variant[sample.variant][ok] += 1
            if not ok:
                misses.append(f"{sample.name} {key}")
    total = Counter[bool]()
    for counts in per_field.values():
        total.update(counts)
    report: dict[str, Any] = {
        "generated": {
            "images": images,
            "fields": total[True] + total[False],
            "field_exact": round(total[True] / (total[True] + total[False]), 4),
            "images_all_fields_exact": round(all_exact / images, 4),
            "per_variant": {v: round(c[True] / (c[True] + c[False]), 4) for v, c in per_variant.items()},
            "per_field": {f: round(c[True] / (c[True] + c[False]), 4) for f, c in sorted(per_field.items())},
            "median_s": round(statistics.median(seconds), 3),
            "p90_s": round(statistics.quantiles(seconds, n=10)[-1], 3),
        }
    }
    if args.show_misses:
        report["generated"]["misses"] = misses
    if (REAL / "ground_truth.json").exists():
        truth = json.loads((REAL / "ground_truth.json").read_text(encoding="utf-8"))
        real = {}
        for name, entry in truth.items():
            pages = {k: v for k, v in entry.items() if k in ("front", "back")}
            hits, took = score(engine, (REAL / name).read_bytes(), entry["side"], pages)
            real[name] = {
                "exact": f"{sum(hits.values())}/{len(hits)}",
                "missed": [k for k, ok in hits.items() if not ok],
                "seconds": round(took, 2),
            }
        report["real"] = real
    else:
        report["real"] = "skipped: ../shared/data/real is absent"
    report["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    report["model_loads"] = engine.loads
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
