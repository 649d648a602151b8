"""The hybrid engine against the emulator (answers taught the ground truth): offline first, cloud when in doubt."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_vlocr.core.batch.budget import CallBudget
from airflow_provider_vlocr.core.batch.cache import ResultCache
from airflow_provider_vlocr.core.batch.loading import ImageLoader
from airflow_provider_vlocr.core.batch.pipeline import BatchSettings, recognize_batch
from airflow_provider_vlocr.core.connection import ConnectionSettings
from airflow_provider_vlocr.core.engines.huaweicloud.client import VehicleLicenseOcrClient
from airflow_provider_vlocr.core.engines.hybrid import HybridEngine, escalation_reasons
from airflow_provider_vlocr.core.engines.local import LocalEngine
from airflow_provider_vlocr.core.errors import ConfigurationError
from airflow_provider_vlocr.core.models import OcrResponse, RecognizeOptions
from airflow_provider_vlocr.emulator.config import EmulatorConfig
from airflow_provider_vlocr.emulator.server import EmulatorServer
from airflow_provider_vlocr.licence.schema import HYBRID_THRESHOLD
from airflow_provider_vlocr.operators.object_storage import ObjectStorage
from airflow_provider_vlocr.testing.emulator_handle import EmulatorHandle
from airflow_provider_vlocr.testing.licence_generator import Sample, fonts_available, generate

pytestmark = [
    pytest.mark.skipif(not LocalEngine.available(), reason="the [local] extra is not installed"),
    pytest.mark.skipif(not fonts_available(), reason="no CJK font to render licences"),
]
FRONT = "v000_front_clean.png"


@pytest.fixture(scope="module")
def cloud() -> Iterator[EmulatorHandle]:
    """An emulator whose OCR answers what it was taught (the ground truth): the cloud is always right."""
    with EmulatorServer(EmulatorConfig(engine="answers")).start() as server:
        handle = EmulatorHandle(server.base_url, server.config)
        yield handle
        handle.close()


@pytest.fixture(scope="module")
def samples(cloud: EmulatorHandle) -> dict[str, Sample]:
    found = {s.name: s for s in generate(1, seed=3, variants=("clean", "hard"))}
    for sample in found.values():
        cloud.add_answer(sample.image, sample.reading)
    return found


def settings_for(cloud: EmulatorHandle, **extra: Any) -> ConnectionSettings:
    conn = cloud.connection("aksk")
    return ConnectionSettings.from_parts(login=None, password=None, extras={**conn["extra"], **extra})


def hybrid(cloud: EmulatorHandle, threshold: float) -> HybridEngine:
    return HybridEngine(LocalEngine.shared(), VehicleLicenseOcrClient(settings_for(cloud)), threshold=threshold)


def test_a_confident_reading_stays_offline(cloud: EmulatorHandle, samples: dict[str, Sample]) -> None:
    cloud.reset()
    sample = samples[FRONT]
    options = RecognizeOptions(side="front")
    local = LocalEngine.shared().recognize(image=sample.image, options=options)
    threshold = min(local.field_confidence.values()) - 0.01  # nothing is in doubt at this threshold
    response = hybrid(cloud, threshold).recognize(image=sample.image, options=options)
    assert cloud.billed(sample.image) == 0
    assert response.engine == "hybrid" and response.escalation is None and response.billed is False
    assert set(response.field_engines.values()) == {"local"}
    assert response.result.to_api_dict() == local.result.to_api_dict()
    assert response.field_confidence == local.field_confidence


def test_a_back_page_without_a_side_is_judged_as_the_back_page_it_is(
    cloud: EmulatorHandle, samples: dict[str, Sample]
) -> None:
    """side=None: the offline engine detects the page; a confident back page bills nothing, and a doubtful one is
    asked of the cloud as a back page (the API would read a front page and refuse it)."""
    cloud.reset()
    sample = samples["v000_back_clean.png"]
    confident = hybrid(cloud, HYBRID_THRESHOLD).recognize(image=sample.image, options=RecognizeOptions())
    assert confident.escalation is None and confident.side == "back" and cloud.billed(sample.image) == 0
    doubtful = hybrid(cloud, 1.0).recognize(image=sample.image, options=RecognizeOptions())
    assert doubtful.escalation is not None and doubtful.escalation.outcome == "cloud"
    assert not any(reason.startswith("missing vehicle_type") for reason in doubtful.escalation.reasons)
    assert doubtful.side == "back" and doubtful.result.file_no == sample.truth["file_no"]
    assert cloud.billed(sample.image) == 1


def test_a_doubtful_reading_is_replaced_by_the_cloud_answer(cloud: EmulatorHandle, samples: dict[str, Sample]) -> None:
    cloud.reset()
    sample = samples[FRONT]
    response = hybrid(cloud, 1.0).recognize(image=sample.image, options=RecognizeOptions(side="front"))
    assert cloud.billed(sample.image) == 1
    assert response.billed is True and response.escalation is not None
    assert response.escalation.outcome == "cloud" and response.escalation.reasons
    assert set(response.field_engines.values()) == {"huaweicloud"}
    result = response.result.to_api_dict()
    assert {k: result.get(k) for k in sample.truth if k != "issuing_authority"} == {
        k: v for k, v in sample.truth.items() if k != "issuing_authority"
    }
    assert response.field_confidence == {}  # the cloud's answer carries no confidence
    doubt = response.escalation.doubtful_fields  # ... and the escalation keeps the offline doubt it settled
    assert doubt and all(0.0 <= score < 1.0 for score in doubt.values()) and set(doubt) <= set(sample.truth)


def test_escalation_reasons_name_missing_and_doubtful_fields() -> None:
    response = OcrResponse.model_validate(
        {
            "result": {"number": "京A12345", "vin": "LFGGF53W0WH228344"},
            "field_confidence": {"number": 0.97, "vin": 0.2},
        }
    )
    reasons = escalation_reasons(response, RecognizeOptions(side="front"), 0.8)
    assert "vin 0.20" in reasons and "missing name" in reasons and not any("number" in r for r in reasons)


def test_a_picture_flagged_low_resolution_escalates_however_sure_its_fields() -> None:
    fields = {"number": "京A12345"}
    quality = {"width": 453, "height": 316, "text_height_px": 15.0, "flags": ["low_resolution"]}
    response = OcrResponse.model_validate(
        {"result": fields, "field_confidence": {"number": 0.99}, "image_quality": quality}
    )
    options = RecognizeOptions(side="front")
    assert "image low_resolution" in escalation_reasons(response, options, 0.8)
    sharp = response.model_copy(update={"image_quality": response.image_quality.model_copy(update={"flags": []})})
    assert not any(reason.startswith("image") for reason in escalation_reasons(sharp, options, 0.8))


def run(
    engine: HybridEngine, images: list[bytes], *, budget: CallBudget | None = None, cache: ResultCache | None = None
) -> list[dict[str, Any]]:
    settings = BatchSettings(options=RecognizeOptions(side="front"), concurrency=2)
    batch = recognize_batch(images, engine, ImageLoader.build(), settings, budget=budget, cache=cache)
    return sorted(batch, key=lambda r: r["index"])


def test_a_spent_budget_leaves_the_offline_result_marked(cloud: EmulatorHandle, samples: dict[str, Sample]) -> None:
    cloud.reset()
    front, hard = samples[FRONT].image, samples["v000_front_hard.jpg"].image
    records = run(hybrid(cloud, 1.0), [front, hard], budget=CallBudget(1))
    assert [r["status"] for r in records] == ["ok", "ok"]  # never a failed image
    outcomes = sorted(r["escalation"]["outcome"] for r in records)
    assert outcomes == ["budget", "cloud"]
    assert sum(bool(r.get("billed")) for r in records) == 1 == cloud.counters()["ocr_billed"]
    local_only = next(r for r in records if r["escalation"]["outcome"] == "budget")
    assert set(local_only["field_engines"].values()) == {"local"} and local_only["field_confidence"]
    quality = local_only["image_quality"]  # the picture's quality reaches the item, for review and for the log
    assert quality["width"] > 0 and quality["height"] > 0 and isinstance(quality["flags"], list)


def test_a_cached_cloud_answer_is_not_billed_again(
    cloud: EmulatorHandle, samples: dict[str, Sample], tmp_path: Path
) -> None:
    cloud.reset()
    cache = ResultCache(str(tmp_path / "cache"), ObjectStorage())
    image = samples[FRONT].image
    first = run(hybrid(cloud, 1.0), [image], cache=cache)
    engine = hybrid(cloud, 1.0)
    engine.local = LocalEngine()  # a fresh engine: the offline reading is not the pipeline's cached answer
    again = engine.for_batch(budget=None, cache=cache).recognize(image=image, options=RecognizeOptions(side="front"))
    assert first[0]["escalation"]["outcome"] == "cloud" and first[0]["billed"] is True
    assert again.escalation is not None and again.escalation.outcome == "cloud_cached" and again.billed is False
    assert cloud.counters()["ocr_billed"] == 1
    assert json.dumps(first[0]["result"], sort_keys=True) == json.dumps(again.result.to_api_dict(), sort_keys=True)


def test_hybrid_threshold_is_a_checked_connection_extra(cloud: EmulatorHandle) -> None:
    assert settings_for(cloud, engine="hybrid", hybrid_threshold="0.9").hybrid_threshold == 0.9
    with pytest.raises(ConfigurationError, match="hybrid_threshold"):
        settings_for(cloud, engine="hybrid", hybrid_threshold=2)


def test_hook_runs_the_hybrid_engine_from_the_connection(
    cloud: EmulatorHandle, samples: dict[str, Sample], monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_vlocr.hooks.vehicle_license_ocr import VehicleLicenseOcrHook

    conn = cloud.connection("aksk")
    conn["extra"] = {**conn["extra"], "engine": "hybrid", "hybrid_threshold": 1.0}
    monkeypatch.setenv("AIRFLOW_CONN_VLOCR_HYBRID", json.dumps(conn))
    cloud.reset()
    hook = VehicleLicenseOcrHook(vlocr_conn_id="vlocr_hybrid")
    image = samples[FRONT].image
    records = list(hook.recognize_batch([image], options=RecognizeOptions(side="front"), budget=CallBudget(5)))
    hook.close()
    assert records[0]["engine"] == "hybrid" and records[0]["escalation"]["outcome"] == "cloud"
    assert records[0]["billed"] is True and cloud.billed(image) == 1


def test_connection_test_of_a_hybrid_connection_authenticates_its_cloud_part(
    cloud: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_vlocr.hooks.vehicle_license_ocr import VehicleLicenseOcrHook

    conn = cloud.connection("aksk")
    conn["extra"] = {**conn["extra"], "engine": "hybrid"}
    monkeypatch.setenv("AIRFLOW_CONN_VLOCR_HYBRID_T", json.dumps(conn))
    cloud.reset()
    ok, message = VehicleLicenseOcrHook("vlocr_hybrid_t").test_connection()
    assert ok and "hybrid" in message and cloud.config.project.id in message
    assert cloud.counters()["ocr_requests"] == 0
    conn["extra"]["secret_access_key"] = "Wrong-SK-Secret-123"
    monkeypatch.setenv("AIRFLOW_CONN_VLOCR_HYBRID_BAD", json.dumps(conn))
    ok, message = VehicleLicenseOcrHook("vlocr_hybrid_bad").test_connection()
    assert not ok and "Wrong-SK-Secret-123" not in message
