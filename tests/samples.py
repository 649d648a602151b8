"""Sample images and readings for tests: images drawn here, values from the licence's real field formats."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw

from airflow_provider_vlocr.core.engines.reading import LicenseReading, PageReading

FRONT = {
    "number": "鄂E3887K",
    "vehicle_type": "小型轿车",
    "name": "穆高寒",
    "address": "山西省太原市北大街财苑巷",
    "use_character": "非营运",
    "model": "别克牌SGM7247ATA",
    "vin": "LFGGF53W0WH228343",
    "engine_no": "47CB521VL",
    "register_date": "2013-06-17",
    "issue_date": "2013-06-18",
    "issuing_authority": "广东省深圳市公安局交通警察支队",
}
BACK = {
    "number": "鄂E3887K",
    "file_no": "3800299837465",
    "approved_passengers": "5人",
    "gross_mass": "2170kg",
    "unladen_mass": "1750kg",
    "approved_load": "--",
    "dimension": "5000×1858×1493mm",
    "traction_mass": "--",
    "remarks": "",
    "inspection_record": "检验有效期至2015年06月粤B(16)",
    "code_number": "8644658019963",
}


def make_image(seed: int, width: int = 640, height: int = 420, fmt: str = "PNG") -> bytes:
    """A distinct picture per seed (coloured blocks), encoded as ``fmt``."""
    rng = random.Random(seed)
    img = Image.new("RGB", (width, height), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        draw.rectangle(
            [x0, y0, x0 + rng.randrange(5, 120), y0 + rng.randrange(5, 60)],
            fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)),
        )
    out = io.BytesIO()
    img.save(out, format=fmt)
    return out.getvalue()


def boxes(fields: dict[str, str], top: int) -> dict[str, list[list[int]]]:
    """Plausible four-point boxes, one row per field."""
    out = {}
    for i, key in enumerate(fields):
        y = top + 30 * i
        out[key] = [[160, y], [400, y], [400, y + 24], [160, y + 24]]
    return out


def double_reading() -> LicenseReading:
    """Both pages of Huawei's demo licence (values from its ground truth)."""
    return LicenseReading(
        front=PageReading(fields=FRONT, text_location=boxes(FRONT, 40)),
        back=PageReading(fields=BACK, text_location=boxes(BACK, 40)),
    )


def front_reading() -> LicenseReading:
    return LicenseReading(front=PageReading(fields=FRONT, text_location=boxes(FRONT, 40)))


def back_reading() -> LicenseReading:
    return LicenseReading(back=PageReading(fields=BACK, text_location=boxes(BACK, 40)))


def broken_vin(vin: str) -> str:
    """``vin`` with its check digit (position 9) changed, so the check fails."""
    return vin[:8] + ("1" if vin[8] != "1" else "2") + vin[9:]
