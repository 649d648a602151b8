"""EXIF orientation for every engine: the cloud client sends an EXIF-turned photo upright, nothing else changes."""

from __future__ import annotations

import io

from PIL import Image

from airflow_provider_vlocr.core.connection import ConnectionSettings
from airflow_provider_vlocr.core.engines.huaweicloud.client import VehicleLicenseOcrClient
from airflow_provider_vlocr.core.images import EXIF_ORIENTATION, upright
from airflow_provider_vlocr.core.models import RecognizeOptions
from airflow_provider_vlocr.testing.emulator_handle import EmulatorHandle
from tests.samples import FRONT, front_reading


def photo(fmt: str, orientation: int | None) -> bytes:
    """A 300x200 picture, its left half dark, stored with an EXIF orientation tag when given."""
    image = Image.new("RGB", (300, 200), (230, 230, 230))
    image.paste((20, 20, 20), (0, 0, 150, 200))
    exif = Image.Exif()
    if orientation is not None:
        exif[EXIF_ORIENTATION] = orientation
    out = io.BytesIO()
    image.save(out, fmt, exif=exif)
    return out.getvalue()


def test_a_photo_without_a_turn_is_sent_as_the_very_same_bytes() -> None:
    for data in (photo("JPEG", None), photo("JPEG", 1), photo("PNG", None)):
        assert upright(data) is data


def test_an_exif_turned_photo_is_transposed_and_re_encoded_without_the_tag() -> None:
    for fmt in ("JPEG", "PNG"):
        turned = upright(photo(fmt, 6))  # 6: turn 90 degrees clockwise to view
        with Image.open(io.BytesIO(turned)) as image:
            assert image.format == fmt and image.size == (200, 300)
            assert image.getexif().get(EXIF_ORIENTATION, 1) == 1
            top, bottom = image.convert("L").getpixel((100, 20)), image.convert("L").getpixel((100, 280))
            assert top < 100 < bottom  # the dark left half is now on top


def test_the_cloud_client_sends_the_upright_photo(vlocr_emulator: EmulatorHandle) -> None:
    tagged = photo("JPEG", 6)
    vlocr_emulator.add_answer(upright(tagged), front_reading())  # the emulator answers what it was taught by sha256
    conn = vlocr_emulator.connection("aksk")
    client = VehicleLicenseOcrClient(ConnectionSettings.from_parts(login=None, password=None, extras=conn["extra"]))
    try:
        response = client.recognize(image=tagged, options=RecognizeOptions(side="front"))
    finally:
        client.close()
    assert response.result.number == FRONT["number"]
    assert vlocr_emulator.billed(upright(tagged)) == 1 and vlocr_emulator.billed(tagged) == 0
