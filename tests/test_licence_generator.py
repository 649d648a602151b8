"""What the licence generator draws of real back pages: needle-printed zeros and units, the tilted stamp."""

from __future__ import annotations

import math
import random

import pytest
from PIL import Image, ImageDraw

from airflow_provider_vlocr.testing.licence_generator import (
    _needle_text,
    _text,
    _tilted_stamp,
    font,
    fonts_available,
)

pytestmark = pytest.mark.skipif(not fonts_available(), reason="no CJK font to render licences")


def ink(draw_text: object, text: str) -> tuple[Image.Image, tuple[float, float, float, float]]:
    image = Image.new("L", (400, 120), 255)
    box = draw_text(ImageDraw.Draw(image), (20, 60), text, font("mono", 40), 0)  # type: ignore[operator]
    return image, box


def test_needle_printed_zeros_are_slashed_and_the_unit_g_sits_low_like_a_9() -> None:
    plain, plain_box = ink(_text, "1950kg")
    needle, needle_box = ink(_needle_text, "1950kg")
    zero = font("mono", 40)
    left = 20 + zero.getlength("195")
    inside_zero = (round(left + 0.3 * zero.getlength("0")), 50, round(left + 0.7 * zero.getlength("0")), 70)
    dark = lambda image: sum(1 for p in image.crop(inside_zero).getdata() if p < 128)  # noqa: E731
    assert dark(needle) > dark(plain)  # the slash crosses the zero's hollow
    assert needle_box[3] > plain_box[3]  # the unit's g is a 9 set low, below the line
    assert ink(_needle_text, "检验")[1] == ink(_text, "检验")[1]  # nothing else changes


def test_the_inspection_stamp_is_boxed_and_turned() -> None:
    layer = Image.new("RGBA", (800, 300), (20, 20, 20, 0))
    ImageDraw.Draw(layer).text((200, 150), "检验有效期至2016年10月", font=font("sans", 36), fill=(20, 20, 20, 255))
    corners = [(200.0, 130.0), (600.0, 130.0), (600.0, 170.0), (200.0, 170.0)]
    turned = _tilted_stamp(layer, corners, random.Random(1))
    angle = random.Random(1).uniform(-6.0, 6.0)
    (x0, y0), (x1, y1) = turned[0], turned[1]
    assert math.degrees(math.atan2(y0 - y1, x1 - x0)) == pytest.approx(angle, abs=1e-6)
    assert layer.getchannel("A").getbbox() is not None
