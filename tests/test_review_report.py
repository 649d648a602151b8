"""The review report beside output_path, opened in a real headless Chromium (Debian's package; `make test` installs
it when it runs as root, elsewhere these tests are skipped)."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from airflow_provider_vlocr.core.engines.reading import LicenseReading, PageReading
from airflow_provider_vlocr.testing.emulator_handle import EmulatorHandle
from tests.samples import FRONT, boxes, broken_vin, front_reading, make_image

RunDag = Callable[..., tuple[str, dict[Any, Any]]]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no chromium (Debian's package) on this machine")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")  # fmt: skip


def chromium(page: Path, profile: Path, *args: str) -> str:
    """Run headless Chromium on a local page; its stdout (``--dump-dom``: the DOM after the load event)."""
    assert CHROMIUM is not None
    command = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


def batch_with_review(
    vlocr_emulator: EmulatorHandle, run_dag: RunDag, tmp_path: Path, redact_pii: str
) -> tuple[dict[str, Any], Path]:
    """A good page, a page whose VIN fails its check digit, and a missing file, with text locations asked for."""
    bad = {**FRONT, "vin": broken_vin(FRONT["vin"])}
    good, broken = make_image(870, width=900, height=600), make_image(871, width=900, height=600)
    vlocr_emulator.add_answer(good, front_reading())
    vlocr_emulator.add_answer(broken, LicenseReading(front=PageReading(fields=bad, text_location=boxes(bad, 40))))
    for name, image in (("good.png", good), ("broken.png", broken)):
        (tmp_path / name).write_bytes(image)
    images = [{"path": str(tmp_path / n), "side": "front"} for n in ("good.png", "broken.png", "gone.png")]
    output = tmp_path / "out" / "licences.jsonl"
    conf = {"images": images, "output_path": str(output), "redact_pii": redact_pii, "return_text_location": True}
    state, xcoms = run_dag("vlocr_test_records", conf, file="vlocr_test_batch.py")
    assert state == "success"
    summary = xcoms[("ocr_records", "summary", -1)]
    return summary, Path(summary["review_report"].removeprefix("file://"))


@needs_chromium
def test_the_review_report_shows_the_doubtful_fields_cut_out_of_the_photo(
    vlocr_connection: dict[str, Any], vlocr_emulator: EmulatorHandle, run_dag: RunDag, tmp_path: Path
) -> None:
    summary, report = batch_with_review(vlocr_emulator, run_dag, tmp_path, "none")
    assert report.name == "licences.review.html" and report.parent == tmp_path / "out"
    assert summary["needs_review"] == 2
    dom = chromium(report, tmp_path / "profile", "--dump-dom")
    loaded = re.search(r'data-images-loaded="(\d+)" data-images="(\d+)"', dom)
    assert loaded is not None, dom[:500]
    assert int(loaded[1]) == int(loaded[2]) >= 1  # every crop decoded in the browser
    assert "broken.png" in dom and "gone.png" in dom and "good.png" not in dom
    assert "vin.check_digit" in dom and 'alt="vin"' in dom  # the VIN field, cut out of the photo
    shot = tmp_path / "report.png"
    chromium(report, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1200,1400", "--hide-scrollbars")
    with Image.open(shot) as picture:
        colours = picture.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 50  # text and a photo crop, not a blank page


@needs_chromium
def test_with_redaction_the_report_carries_no_owner_data(
    vlocr_connection: dict[str, Any], vlocr_emulator: EmulatorHandle, run_dag: RunDag, tmp_path: Path
) -> None:
    _, report = batch_with_review(vlocr_emulator, run_dag, tmp_path, "mask")
    page = report.read_text(encoding="utf-8")
    assert FRONT["name"] not in page and FRONT["address"] not in page
    assert 'alt="name"' not in page and 'alt="address"' not in page and 'alt="photo"' not in page
    dom = chromium(report, tmp_path / "profile", "--dump-dom")
    assert "(owner data redacted)" in dom and 'alt="vin"' in dom
