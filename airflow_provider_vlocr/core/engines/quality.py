"""How far a picture can be trusted, whatever was read from it: its size, its text's height, its sharpness.

Flags (:data:`LOW_TEXT_HEIGHT_PX`): ``low_resolution`` when the median text box is under 20 px high. Measured on
Huawei's real demo photo: at 1280 px wide its boxes are 29 px high and every field is read; downscaled to 640 px
they are 18 px and 7 of 22 fields are wrong; its page crops (24-26 px) read 21 of 22. Upscaling such pictures
before reading did not help (RapidOCR's detector already scales the short side up to 736 px): x1.5 and x2 gained
2-3 fields on the downscaled real photo and lost as many on small and blurred renders, and x2 cost 45 % more time.
Sharpness is reported, never flagged: real photos that read perfectly measured 0.24-0.44, the generator's blurred
renders 0.28-0.43, so no threshold separates pictures that read well from ones that do not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..models import ImageQuality

LOW_TEXT_HEIGHT_PX = 20.0


def assess(picture: Any, boxes: Sequence[Sequence[Any]]) -> ImageQuality:
    """The quality of ``picture`` (a PIL image, upright) from its pixels and the text boxes read in it (boxes of two
    characters or more count; their height is their short side)."""
    import numpy as np

    heights = []
    for quad, text, *_ in boxes:
        if len(text.strip()) < 2 or len(quad) != 4:
            continue
        (x0, y0), (x1, y1), _, (x3, y3) = quad
        heights.append(min(float(np.hypot(x1 - x0, y1 - y0)), float(np.hypot(x3 - x0, y3 - y0))))
    text_height = round(float(np.median(heights)), 1) if heights else None
    gray = np.asarray(picture.convert("L"), dtype=np.float32)
    sharpness = None
    if gray.shape[0] > 1 and gray.shape[1] > 1:
        edges = np.maximum(np.abs(np.diff(gray, axis=1))[:-1], np.abs(np.diff(gray, axis=0))[:, :-1])
        low, high = np.percentile(gray, (5, 95))
        sharpness = round(float(np.percentile(edges, 99.5) / max(high - low, 1.0)), 3)
    flags = ["low_resolution"] if text_height is not None and text_height < LOW_TEXT_HEIGHT_PX else []
    return ImageQuality(
        width=picture.width, height=picture.height, text_height_px=text_height, sharpness=sharpness, flags=flags
    )
