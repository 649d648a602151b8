"""The hybrid engine's bill and accuracy against all-cloud, on the realistic generator, through the emulator.

The emulator is taught each image's ground truth (its ``answers`` engine), so the cloud is always right and
all-cloud is the accuracy ceiling (100 %, one billed call per image). For each seed (default 7, 123 and the hold-out
2027, never looked at while tuning) and every variant of ``testing/licence_generator.py``:

* all-cloud: every image sent to the emulator by the Huawei client; billed calls read from its counters;
* hybrid at the default threshold (``HYBRID_THRESHOLD``, connection extra ``hybrid_threshold``): the real
  :class:`HybridEngine` over real sockets, billed calls from the emulator's counters, exact fields against the
  ground truth;
* the trade-off curve: for each threshold, which images the engine's own rule (:func:`escalation_reasons`)
  escalates, computed from the same offline readings: bill cut and exact fields, with the cloud answer replacing
  the whole result (what the engine does) and, for comparison, replacing only the doubtful fields.

Prints JSON and saves the curve as a PNG (``--plot``, default ``docs/hybrid-tradeoff.png``).
Target (issue 14): >= 70 % fewer billed calls than all-cloud with >= 99.5 % of fields exact.
Run: ``.venv/bin/python benchmarks/hybrid.py [--vehicles 4] [--seeds 7,123,2027] [--ocr-cache FILE]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from accuracy import HOLD_OUT_SEED, CachedOcr  # noqa: E402

from airflow_provider_vlocr.core.connection import ConnectionSettings  # noqa: E402
from airflow_provider_vlocr.core.engines.huaweicloud.client import VehicleLicenseOcrClient  # noqa: E402
from airflow_provider_vlocr.core.engines.hybrid import HybridEngine, escalation_reasons  # noqa: E402
from airflow_provider_vlocr.core.engines.local import LocalEngine  # noqa: E402
from airflow_provider_vlocr.core.errors import InvalidRequestError  # noqa: E402
from airflow_provider_vlocr.core.models import OcrResponse, RecognizeOptions  # noqa: E402
from airflow_provider_vlocr.emulator.config import EmulatorConfig  # noqa: E402
from airflow_provider_vlocr.emulator.server import EmulatorServer  # noqa: E402
from airflow_provider_vlocr.licence.schema import HYBRID_THRESHOLD  # noqa: E402
from airflow_provider_vlocr.testing.emulator_handle import EmulatorHandle  # noqa: E402
from airflow_provider_vlocr.testing.licence_generator import VARIANTS, Sample, generate  # noqa: E402

THRESHOLDS = (0.3, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.98)


WITH_AUTHORITY = False  # --issuing-authority: ask for (and score) the seal's issuing authority too


def truth_of(sample: Sample) -> dict[str, str]:
    """The fields the request returns (the seal's authority only when asked)."""
    return {k: v for k, v in sample.truth.items() if k != "issuing_authority" or WITH_AUTHORITY}


def options_for(sample: Sample) -> RecognizeOptions:
    return RecognizeOptions(side=sample.side, return_issuing_authority=WITH_AUTHORITY)  # type: ignore[arg-type]


def exact(result: dict[str, Any], truth: dict[str, str]) -> int:
    return sum((result.get(k) or "") == v for k, v in truth.items())


def measure_seed(
    seed: int, vehicles: int, local: LocalEngine, emulator: EmulatorHandle, settings: ConnectionSettings
) -> dict[str, Any]:
    samples = list(generate(vehicles, seed=seed, variants=VARIANTS))
    for sample in samples:
        emulator.add_answer(sample.image, sample.reading)
    fields = sum(len(truth_of(s)) for s in samples)
    cloud = VehicleLicenseOcrClient(settings)
    emulator.reset()
    cloud_exact = 0
    for sample in samples:
        answer = cloud.recognize(image=sample.image, options=options_for(sample))
        cloud_exact += exact(answer.result.to_api_dict(), truth_of(sample))
    all_cloud_billed = int(emulator.counters()["ocr_billed"])

    emulator.reset()
    engine = HybridEngine(local, cloud, threshold=HYBRID_THRESHOLD)
    hybrid_exact = 0
    reasons: dict[str, int] = {}
    for sample in samples:
        response = engine.recognize(image=sample.image, options=options_for(sample))
        hybrid_exact += exact(response.result.to_api_dict(), truth_of(sample))
        for reason in response.escalation.reasons if response.escalation else ():
            kind = reason.split()[0] if reason.startswith(("missing", "local", "image")) else "doubtful"
            reasons[kind] = reasons.get(kind, 0) + 1
    hybrid_billed = int(emulator.counters()["ocr_billed"])
    cloud.close()

    readings: list[tuple[Sample, OcrResponse | None]] = []
    for sample in samples:
        try:
            readings.append((sample, local.recognize(image=sample.image, options=options_for(sample))))
        except InvalidRequestError:
            readings.append((sample, None))
    curve = [tradeoff(readings, t) for t in THRESHOLDS]
    return {
        "images": len(samples),
        "fields": fields,
        "all_cloud": {"billed": all_cloud_billed, "field_exact": round(cloud_exact / fields, 4)},
        "hybrid": {
            "threshold": HYBRID_THRESHOLD,
            "billed": hybrid_billed,
            "bill_cut": round(1 - hybrid_billed / all_cloud_billed, 4),
            "field_exact": round(hybrid_exact / fields, 4),
            "escalation_reasons": reasons,
        },
        "curve": curve,
    }


def tradeoff(readings: list[tuple[Sample, OcrResponse | None]], threshold: float) -> dict[str, Any]:
    """Bill cut and exact fields at ``threshold``: the engine's escalation rule on the same offline readings; an
    escalated image gets the cloud's (taught, right) answer, whole or only for its doubtful fields."""
    escalated = whole = partial = fields = 0
    for sample, local in readings:
        truth = truth_of(sample)
        fields += len(truth)
        options = options_for(sample)
        if local is None:
            escalated += 1
            whole += len(truth)
            partial += len(truth)
            continue
        read = local.result.to_api_dict()
        doubtful = escalation_reasons(local, options, threshold)
        if doubtful:
            escalated += 1
            whole += len(truth)
            flagged = {r.split()[-1] if r.startswith("missing") else r.split()[0] for r in doubtful}
            partial += sum(truth[k] == (truth[k] if k in flagged else read.get(k) or "") for k in truth)
        else:
            whole += exact(read, truth)
            partial += exact(read, truth)
    return {
        "threshold": threshold,
        "escalated": escalated,
        "bill_cut": round(1 - escalated / len(readings), 4),
        "field_exact": round(whole / fields, 4),
        "field_exact_doubtful_fields_only": round(partial / fields, 4),
    }


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    for seed, result in report["seeds"].items():
        cut = [100 * p["bill_cut"] for p in result["curve"]]
        acc = [100 * p["field_exact"] for p in result["curve"]]
        ax.plot(cut, acc, marker="o", label=f"seed {seed}")
        for point, x, y in zip(result["curve"], cut, acc, strict=True):
            if point["threshold"] in (0.5, HYBRID_THRESHOLD):
                ax.annotate(f"t={point['threshold']}", (x, y), textcoords="offset points", xytext=(4, -12), fontsize=7)
    ax.axvline(70, color="grey", linestyle=":", linewidth=1)
    ax.axhline(99.5, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("billed calls saved vs all-cloud (%)")
    ax.set_ylabel("fields exact (%)")
    ax.set_title("Hybrid engine: escalation threshold t -> bill cut and accuracy")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vehicles", type=int, default=4)
    parser.add_argument("--seeds", default=f"7,123,{HOLD_OUT_SEED}")
    parser.add_argument("--ocr-cache", type=Path, help="memoise OCR boxes here (see benchmarks/accuracy.py)")
    parser.add_argument("--plot", type=Path, default=REPO / "docs" / "hybrid-tradeoff.png")
    parser.add_argument("--issuing-authority", action="store_true", help="ask for the seal's authority too")
    args = parser.parse_args()
    global WITH_AUTHORITY
    WITH_AUTHORITY = args.issuing_authority
    local: LocalEngine = CachedOcr(args.ocr_cache) if args.ocr_cache else LocalEngine()
    report: dict[str, Any] = {"seeds": {}}
    with EmulatorServer(EmulatorConfig(engine="answers")).start() as server:
        emulator = EmulatorHandle(server.base_url, server.config)
        conn = emulator.connection("aksk")
        settings = ConnectionSettings.from_parts(login=None, password=None, extras=conn["extra"])
        for seed in (int(s) for s in args.seeds.split(",")):
            name = f"{seed}{' (hold-out)' if seed == HOLD_OUT_SEED else ''}"
            report["seeds"][name] = measure_seed(seed, args.vehicles, local, emulator, settings)
        emulator.close()
    totals = [r["hybrid"] for r in report["seeds"].values()]
    billed = sum(t["billed"] for t in totals)
    cloud = sum(r["all_cloud"]["billed"] for r in report["seeds"].values())
    fields = sum(r["fields"] for r in report["seeds"].values())
    exact_fields = sum(t["field_exact"] * r["fields"] for t, r in zip(totals, report["seeds"].values(), strict=True))
    report["all_seeds"] = {
        "threshold": HYBRID_THRESHOLD,
        "billed_hybrid": billed,
        "billed_all_cloud": cloud,
        "bill_cut": round(1 - billed / cloud, 4),
        "field_exact": round(exact_fields / fields, 4),
    }
    if isinstance(local, CachedOcr):
        local.save()
    plot(report, args.plot)
    report["plot"] = str(args.plot.relative_to(REPO)) if args.plot.is_relative_to(REPO) else str(args.plot)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
