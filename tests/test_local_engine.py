"""The offline engine (RapidOCR + layout parser) on generated licences and Huawei's real demo photo."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from airflow_provider_vlocr.core.engines.local import LocalEngine
from airflow_provider_vlocr.core.errors import InvalidRequestError
from airflow_provider_vlocr.core.models import RecognizeOptions
from airflow_provider_vlocr.hooks.vehicle_license_ocr import VehicleLicenseOcrHook
from airflow_provider_vlocr.testing.licence_generator import Sample, fonts_available, generate
from tests.samples import make_image

pytestmark = [
    pytest.mark.skipif(not LocalEngine.available(), reason="the [local] extra is not installed"),
    pytest.mark.skipif(not fonts_available(), reason="no CJK font to render licences"),
]


@pytest.fixture(scope="module")
def engine() -> LocalEngine:
    return LocalEngine.shared()


@pytest.fixture(scope="module")
def samples() -> dict[str, Sample]:
    return {s.name: s for s in generate(1, seed=3, variants=("clean", "photo"))}


def exact(result: dict[str, Any], truth: dict[str, str]) -> int:
    return sum((result.get(k) or "") == v for k, v in truth.items())


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_front_and_back_pages_with_automatic_side(engine: LocalEngine, samples: dict[str, Sample]) -> None:
    for name in ("v000_front_clean.png", "v000_back_photo.jpg"):
        sample = samples[name]
        response = engine.recognize(image=sample.image, options=RecognizeOptions(return_issuing_authority=True))
        result = response.result.model_dump()
        assert response.engine == "local"
        assert exact(result, sample.truth) >= len(sample.truth) - 1, (name, result)
        assert result["number"] == sample.truth["number"]
        key = "vin" if sample.side == "front" else "file_no"
        assert result[key] == sample.truth[key]


def test_both_pages_in_one_photo_and_text_location(engine: LocalEngine, samples: dict[str, Sample]) -> None:
    front = Image.open(io.BytesIO(samples["v000_front_clean.png"].image))
    back = Image.open(io.BytesIO(samples["v000_back_clean.png"].image))
    sheet = Image.new("RGB", (front.width + back.width + 120, max(front.height, back.height) + 80), (35, 30, 28))
    sheet.paste(front, (40, 40))
    sheet.paste(back, (front.width + 80, 40))
    sheet = sheet.resize((sheet.width // 2, sheet.height // 2))
    response = engine.recognize(image=png(sheet), options=RecognizeOptions(return_text_location=True))
    result = response.result
    assert result.front is not None and result.back is not None
    assert result.front.vin == samples["v000_front_clean.png"].truth["vin"]
    assert result.back.file_no == samples["v000_back_clean.png"].truth["file_no"]
    location = result.front.text_location or {}
    assert len(location["vin"]) == 4 and all(len(p) == 2 for p in location["vin"])
    assert location["vin"][0][0] < sheet.width / 2  # the front card is on the left half


def test_rotated_quarter_turn(engine: LocalEngine, samples: dict[str, Sample]) -> None:
    sample = samples["v000_front_clean.png"]
    turned = Image.open(io.BytesIO(sample.image)).rotate(90, expand=True)
    result = engine.recognize(image=png(turned), options=RecognizeOptions(side="front")).result
    assert result.vin == sample.truth["vin"] and result.number == sample.truth["number"]


def test_unreadable_picture_is_ais_0104(engine: LocalEngine) -> None:
    with pytest.raises(InvalidRequestError) as info:
        engine.recognize(image=make_image(1), image_name="blocks.png")
    assert info.value.error_code == "AIS.0104" and "blocks.png" in str(info.value)


def test_real_demo_photo(engine: LocalEngine, real_samples_dir: Path) -> None:
    truth = json.loads((real_samples_dir / "ground_truth.json").read_text(encoding="utf-8"))
    name = "huaweicloud_vehicle-license-demo.png"
    result = engine.recognize(
        image=(real_samples_dir / name).read_bytes(),
        options=RecognizeOptions(side="double_side", return_issuing_authority=True),
    ).result.model_dump()
    hits = exact(result["front"], truth[name]["front"]) + exact(result["back"], truth[name]["back"])
    assert hits >= 20, result


def test_model_loaded_once_and_shared_by_threads(samples: dict[str, Sample], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_VLOCR_LOCAL", json.dumps({"conn_type": "vlocr", "extra": {"engine": "local"}}))
    hooks = [VehicleLicenseOcrHook("vlocr_local") for _ in range(2)]
    assert hooks[0].engine is hooks[1].engine is LocalEngine.shared()
    sample = samples["v000_back_clean.png"]
    numbers: list[str | None] = []

    def work(hook: VehicleLicenseOcrHook) -> None:
        numbers.append(hook.recognize(image=sample.image, side="back").result.number)

    threads = [threading.Thread(target=work, args=(hooks[i % 2],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a recognising thread hung"
    assert numbers == [sample.truth["number"]] * 4
    assert LocalEngine.shared().loads == 1
    ok, message = hooks[0].test_connection()
    assert ok and "local" in message


def test_emulator_recognises_with_the_offline_engine(samples: dict[str, Sample]) -> None:
    from airflow_provider_vlocr.core.connection import ConnectionSettings
    from airflow_provider_vlocr.core.engines.huaweicloud.client import VehicleLicenseOcrClient
    from airflow_provider_vlocr.emulator import EmulatorConfig, EmulatorServer

    with EmulatorServer(EmulatorConfig(engine="local")) as server:
        assert server.app.engine.name == "local"
        conn = server.connection("aksk")
        client = VehicleLicenseOcrClient(ConnectionSettings.from_parts(login=None, password=None, extras=conn["extra"]))
        sample = samples["v000_front_photo.jpg"]
        result = client.recognize(image=sample.image, options=RecognizeOptions(side="front")).result
        assert result.vin == sample.truth["vin"]
        assert result.issuing_authority is None  # only when asked, as the API does


def engine_seeing_sizes(monkeypatch: pytest.MonkeyPatch) -> tuple[LocalEngine, list[tuple[int, int]]]:
    """An engine on the shared model that notes the size of every picture it detects text in."""
    engine = LocalEngine()
    engine._ocr, engine.orientation = LocalEngine.shared()._engine(), LocalEngine.shared().orientation
    seen: list[tuple[int, int]] = []
    detect = engine.detect

    def noting(picture: Any) -> Any:
        seen.append(picture.size)
        return detect(picture)

    monkeypatch.setattr(engine, "detect", noting)
    return engine, seen


def test_large_pictures_are_read_at_a_capped_size_and_located_in_their_own_pixels(
    samples: dict[str, Sample], monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_vlocr.core.engines import local

    sample = samples["v000_front_clean.png"]
    card = Image.open(io.BytesIO(sample.image))
    big = card.resize((card.width * 3 // 2, card.height * 3 // 2))
    engine, seen = engine_seeing_sizes(monkeypatch)
    response = engine.recognize(image=png(big), options=RecognizeOptions(side="front", return_text_location=True))
    assert seen and min(seen[0]) == local.READ_MAX_SHORT_SIDE
    assert response.result.vin == sample.truth["vin"]
    (x0, y0), _, (x1, y1), _ = sample.reading.front.text_location["vin"]  # type: ignore[union-attr]
    got = (response.result.text_location or {})["vin"]
    assert abs(got[0][0] - 1.5 * x0) < 40 and abs(got[2][1] - 1.5 * y1) < 40, (got, (x0, y0, x1, y1))
    assert response.image_quality is not None and response.image_quality.width == big.width


def test_a_tilted_page_read_whole_is_read_once(samples: dict[str, Sample], monkeypatch: pytest.MonkeyPatch) -> None:
    """A card photographed 7° askew whose first reading holds every field: no second pass."""
    sample = samples["v000_front_clean.png"]
    card = Image.open(io.BytesIO(sample.image)).convert("RGB")
    tilted = card.rotate(7, Image.Resampling.BICUBIC, expand=True, fillcolor=(236, 236, 232))
    engine, seen = engine_seeing_sizes(monkeypatch)
    result = engine.recognize(image=png(tilted), options=RecognizeOptions(side="front")).result.model_dump()
    assert len(seen) == 1
    assert exact(result, sample.truth) >= len(sample.truth) - 1, result


def test_a_tilted_real_photo_lacking_fields_is_read_again_level(
    real_samples_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Huawei's two-page photo turned 4°: its first reading lacks fields (the detector joins and cuts the tilted
    lines), so the page is read once more turned level and cropped to its text (the letters keep their size), and
    the text is located in the tilted photo's own pixels."""
    from airflow_provider_vlocr.core.engines.local import _turned

    name = "huaweicloud_vehicle-license-demo.png"
    truth = json.loads((real_samples_dir / "ground_truth.json").read_text(encoding="utf-8"))[name]
    photo = Image.open(real_samples_dir / name).convert("RGB")
    tilted = photo.rotate(4, Image.Resampling.BICUBIC, expand=True, fillcolor=(236, 236, 232))
    options = RecognizeOptions(side="double_side", return_issuing_authority=True, return_text_location=True)
    engine, seen = engine_seeing_sizes(monkeypatch)
    result = engine.recognize(image=png(tilted), options=options).result.model_dump()
    assert len(seen) == 2 and seen[1][0] < tilted.width  # the level pass reads a crop, not the turned canvas
    hits = exact(result["front"], truth["front"]) + exact(result["back"], truth["back"])
    assert hits >= 20, result  # 16 of 22 without the level pass
    upright = LocalEngine.shared().recognize(image=png(photo), options=options).result.model_dump()
    expected = [
        _turned((float(x), float(y)), 4.0, photo.size, tilted.size) for x, y in upright["front"]["text_location"]["vin"]
    ]
    got = result["front"]["text_location"]["vin"]
    centre, want = ([sum(p[i] for p in quad) / 4 for i in (0, 1)] for quad in (got, expected))
    assert abs(centre[0] - want[0]) < 15 and abs(centre[1] - want[1]) < 15, (got, expected)


def test_character_scores_are_aligned_with_the_text_or_not_given() -> None:
    from airflow_provider_vlocr.core.engines.local import _char_scores

    words = [("外", 1.0, None), ("尺", 0.97, None), ("寸", 0.59, None), ("5000", 0.95, None)]
    assert _char_scores("外尺寸 5000", words) == (1.0, 0.97, 0.59, 1.0, 0.95, 0.95, 0.95, 0.95)
    assert _char_scores("外尺寸5001", words) == ()  # the words spell another text: no per-character scores
    assert _char_scores("外尺寸", words) == ()
