"""The image-quality signal of offline results: text height, sharpness, the low_resolution flag."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from airflow_provider_vlocr.core.engines.local import LocalEngine
from airflow_provider_vlocr.core.engines.quality import LOW_TEXT_HEIGHT_PX, assess
from airflow_provider_vlocr.core.models import RecognizeOptions


def quad(x: float, y: float, w: float, h: float) -> list[tuple[float, float]]:
    return [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]


def test_text_height_is_the_median_short_side_of_boxes_with_two_characters_or_more() -> None:
    picture = Image.new("RGB", (800, 600), "white")
    boxes = [
        (quad(0, 0, 200, 30), "号牌号码", 0.9),
        (quad(0, 50, 40, 200), "竖排文字", 0.9),
        (quad(0, 90, 9, 9), "号", 0.9),
    ]
    quality = assess(picture, boxes)
    assert quality.text_height_px == 35.0 and quality.flags == []  # (30, 40): the lone character does not count
    assert (quality.width, quality.height) == (800, 600)


def test_small_text_is_flagged_low_resolution() -> None:
    small = assess(Image.new("RGB", (400, 300)), [(quad(0, 0, 120, LOW_TEXT_HEIGHT_PX - 2), "鄂E3887K", 0.9)])
    assert small.flags == ["low_resolution"]
    assert assess(Image.new("RGB", (400, 300)), []).flags == []  # no text: nothing measured, nothing claimed


def test_sharpness_falls_with_blur() -> None:
    from PIL import ImageFilter

    picture = Image.new("L", (300, 200), 230)
    ImageDraw.Draw(picture).rectangle((100, 60, 200, 140), fill=20)
    sharp = assess(picture, []).sharpness
    blurred = assess(picture.filter(ImageFilter.GaussianBlur(3)), []).sharpness
    assert sharp is not None and blurred is not None and blurred < sharp / 3


@pytest.mark.skipif(not LocalEngine.available(), reason="the [local] extra is not installed")
def test_offline_results_carry_the_signal_and_a_downscaled_real_photo_is_flagged(real_samples_dir: Path) -> None:
    engine = LocalEngine.shared()
    photo = Image.open(real_samples_dir / "huaweicloud_vehicle-license-demo.png").convert("RGB")
    options = RecognizeOptions(side="double_side")
    for size, flagged in ((photo.size, False), ((640, 480), True)):
        out = io.BytesIO()
        photo.resize(size, Image.Resampling.LANCZOS).save(out, "PNG")
        quality = engine.recognize(image=out.getvalue(), options=options).image_quality
        assert quality is not None and (quality.width, quality.height) == size
        assert ("low_resolution" in quality.flags) is flagged, quality
