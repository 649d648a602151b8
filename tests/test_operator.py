"""VehicleLicenseOcrOperator under a real Airflow (dag.test() on SQLite) against the emulator."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_vlocr.testing.emulator_handle import EmulatorHandle
from tests.samples import FRONT, broken_vin, front_reading, make_image

RunDag = Callable[..., tuple[str, dict[Any, Any]]]


def write_images(
    tmp_path: Path, emulator: EmulatorHandle, count: int, known: int | None = None, seed: int = 0
) -> list[str]:
    """``count`` PNG files; the first ``known`` are taught to the emulator."""
    paths = []
    for i in range(count):
        image = make_image(seed + i)
        path = tmp_path / f"licence-{seed + i}.png"
        path.write_bytes(image)
        if known is None or i < known:
            emulator.add_answer(image, front_reading())
        paths.append(str(path))
    return paths


def test_batch_results_in_input_order_with_mixed_inputs(
    vlocr_connection: dict[str, Any],
    vlocr_emulator: EmulatorHandle,
    run_dag: RunDag,
    tmp_path: Path,
    image_server: Callable[..., str],
) -> None:
    paths = write_images(tmp_path, vlocr_emulator, 6, seed=200)
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_bytes(b"GIF89a" + b"\0" * 300)
    url_image = make_image(299, fmt="JPEG")
    vlocr_emulator.add_answer(url_image, front_reading())
    images: list[Any] = [
        *paths[:3],
        {"url": image_server("x.jpg", url_image), "id": "from-url"},
        f"file://{paths[3]}",
        {"path": paths[4], "side": "front", "id": "custom-id"},
        paths[5],
        str(tmp_path / "missing.png"),
        {"nonsense": 1},
        str(not_an_image),
    ]
    state, xcoms = run_dag("vlocr_test_batch", {"images": images, "max_error_ratio": 1.0})
    assert state == "success"
    collected = xcoms[("collect", "return_value", -1)]
    items = collected["result"]
    assert len(items) == len(images)
    assert [i["status"] for i in items] == ["ok"] * 7 + ["error"] * 3
    assert items[3]["id"] == "from-url" and items[5]["id"] == "custom-id"
    assert items[0]["source"] == paths[0] and items[4]["source"] == f"file://{paths[3]}"
    assert all(i["result"]["number"] == FRONT["number"] for i in items[:7])
    assert items[0]["result"]["issuing_authority"] == FRONT["issuing_authority"]  # on by default
    assert items[7]["error"]["code"] == "readable" and "missing.png" in items[7]["error"]["message"]
    assert items[8]["error"]["code"] == "item-shape"
    assert items[9]["error"]["code"] == "format"
    assert json.loads(json.dumps(items)) == items
    summary = collected["summary"]
    assert summary["total"] == 10 and summary["ok"] == 7 and summary["error"] == 3
    assert vlocr_emulator.counters()["ocr_billed"] == 7


def test_error_ratio_above_limit_fails_the_task(
    vlocr_connection: dict[str, Any], vlocr_emulator: EmulatorHandle, run_dag: RunDag, tmp_path: Path
) -> None:
    paths = write_images(tmp_path, vlocr_emulator, 4, known=2, seed=300)
    state, xcoms = run_dag("vlocr_test_batch", {"images": paths, "max_error_ratio": 0.25})
    assert state == "failed"
    assert xcoms[("ocr", "summary", -1)]["error_codes"] == {"AIS.0104": 2}
    state, _ = run_dag("vlocr_test_batch", {"images": paths, "on_error": "fail"})
    assert state == "failed"


def test_bad_credentials_fail_at_once(
    vlocr_emulator: EmulatorHandle, run_dag: RunDag, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = vlocr_emulator.connection("aksk")
    conn["extra"]["secret_access_key"] = "not-the-secret-key-0000000000000000000"
    monkeypatch.setenv("AIRFLOW_CONN_VLOCR_DEFAULT", json.dumps(conn))
    paths = write_images(tmp_path, vlocr_emulator, 8, seed=400)
    state, _ = run_dag("vlocr_test_batch", {"images": paths})
    assert state == "failed"
    # One signature failure and the batch stops: a wrong SK is never sent again (5 failures lock the AK).
    assert vlocr_emulator.counters()["errors_by_code"] == {"APIG.0301": 1}


def test_429_storm_and_token_expiry_lose_no_image(
    vlocr_connection: dict[str, Any], vlocr_emulator: EmulatorHandle, run_dag: RunDag, tmp_path: Path
) -> None:
    paths = write_images(tmp_path, vlocr_emulator, 12, seed=500)
    vlocr_emulator.configure(
        faults={"rate_429": 0.4, "rate_500": 0.05}, seed=7, token_lifetime_seconds=1.5, latency_ms=100
    )
    state, xcoms = run_dag("vlocr_test_batch", {"images": paths, "max_error_ratio": 0.0})
    assert state == "success"
    items = xcoms[("collect", "return_value", -1)]["result"]
    assert [i["status"] for i in items] == ["ok"] * 12
    counters = vlocr_emulator.counters()
    assert counters["faults_injected"]["429"] > 0
    assert counters["ocr_billed"] == 12  # every image billed exactly once
    assert all(n == 1 for n in counters["billed_by_image"].values())


def test_output_path_jsonl_and_resume_without_second_bill(
    vlocr_connection: dict[str, Any], vlocr_emulator: EmulatorHandle, run_dag: RunDag, tmp_path: Path
) -> None:
    paths = write_images(tmp_path, vlocr_emulator, 6, known=4, seed=600)
    output = tmp_path / "out" / "records.jsonl"
    conf = {"images": paths, "output_path": f"file://{output}", "max_error_ratio": 1.0}
    state, xcoms = run_dag("vlocr_test_batch", conf)
    assert state == "success"
    collected = xcoms[("collect", "return_value", -1)]
    assert collected["result"]["output_path"] == f"file://{output}"
    assert "items" not in collected["result"]
    lines = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [line["status"] for line in lines] == ["ok"] * 4 + ["error"] * 2
    assert vlocr_emulator.counters()["ocr_billed"] == 4
    # Teach the emulator the two unknown images, then run again: only those two are sent.
    for path in paths[4:]:
        vlocr_emulator.add_answer(Path(path).read_bytes(), front_reading())
    state, xcoms = run_dag("vlocr_test_batch", conf)
    assert state == "success"
    summary = xcoms[("collect", "return_value", -1)]["summary"]
    assert summary["resumed"] == 4 and summary["ok"] == 6
    assert vlocr_emulator.counters()["ocr_billed"] == 6
    assert all(n == 1 for n in vlocr_emulator.counters()["billed_by_image"].values())
    lines = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [line["source"] for line in lines] == paths


def test_dynamic_task_mapping(
    vlocr_connection: dict[str, Any], vlocr_emulator: EmulatorHandle, run_dag: RunDag, tmp_path: Path
) -> None:
    paths = write_images(tmp_path, vlocr_emulator, 5, seed=700)
    state, xcoms = run_dag("vlocr_test_mapped", {"batches": [paths[:2], paths[2:]]}, file="vlocr_test_batch.py")
    assert state == "success"
    assert xcoms[("count", "return_value", -1)] == [2, 3]
    assert xcoms[("ocr_mapped", "summary", 1)]["ok"] == 3


def test_records_merged_pages_and_pii_redaction(
    vlocr_connection: dict[str, Any],
    vlocr_emulator: EmulatorHandle,
    run_dag: RunDag,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.samples import BACK, back_reading

    front, back = make_image(800), make_image(801)
    vlocr_emulator.add_answer(front, front_reading())
    vlocr_emulator.add_answer(back, back_reading())
    (tmp_path / "f.png").write_bytes(front)
    (tmp_path / "b.png").write_bytes(back)
    images = [{"path": str(tmp_path / "f.png"), "side": "front"}, {"path": str(tmp_path / "b.png"), "side": "back"}]
    state, xcoms = run_dag("vlocr_test_records", {"images": images, "redact_pii": "mask"}, file="vlocr_test_batch.py")
    assert state == "success"
    items = xcoms[("ocr_records", "return_value", -1)]
    assert items[0]["record"]["plate"] == FRONT["number"] and items[0]["result"]["name"] == "穆**"
    assert items[1]["record"]["gross_mass_kg"] == 2170
    (vehicle,) = xcoms[("ocr_records", "vehicles", -1)]
    record = vehicle["record"]
    assert vehicle["sources"] == {"front": images[0]["path"], "back": images[1]["path"]}
    assert record["pages"] == ["front", "back"] and record["file_no"] == BACK["file_no"]
    assert record["owner_name"] == "穆**" and record["raw"]["name"] == "穆**"
    assert record["valid"] is True and [f["code"] for f in record["findings"]] == ["vin.model_year"]
    assert xcoms[("ocr_records", "summary", -1)]["vehicles"] == 1
    captured = capsys.readouterr()
    for secret in (FRONT["name"], FRONT["address"]):
        assert secret not in captured.out + captured.err  # never in task logs
        assert secret not in json.dumps(list(xcoms.values()), ensure_ascii=False)


def test_merged_vehicles_are_the_same_in_any_input_order(
    vlocr_connection: dict[str, Any], vlocr_emulator: EmulatorHandle, run_dag: RunDag, tmp_path: Path
) -> None:
    """Three vehicles' pages (one front without its back), shuffled three ways: the same vehicles every time, each
    front with its own back, the lone front reported unpaired."""
    import random

    from airflow_provider_vlocr.core.engines.reading import LicenseReading, PageReading
    from tests.samples import BACK

    images = []
    for n, plate in enumerate(("鄂E3887K", "京A12345", "豫B36766")):
        pages = [("front", FRONT), ("back", BACK)] if n < 2 else [("front", FRONT)]  # 豫B36766's back is missing
        for page, fields in pages:
            image = make_image(820 + 2 * n + (page == "back"))
            vlocr_emulator.add_answer(image, LicenseReading(**{page: PageReading(fields={**fields, "number": plate})}))
            (tmp_path / f"v{n}-{page}.png").write_bytes(image)
            images.append({"path": str(tmp_path / f"v{n}-{page}.png"), "side": page})
    runs = []
    for seed in (1, 2, 3):
        random.Random(seed).shuffle(images)
        state, xcoms = run_dag("vlocr_test_records", {"images": images}, file="vlocr_test_batch.py")
        assert state == "success"
        runs.append([(v["plate"], v["sources"], v["paired"]) for v in xcoms[("ocr_records", "vehicles", -1)]])
    assert runs[0] == runs[1] == runs[2]
    by_plate = {plate: (sources, paired) for plate, sources, paired in runs[0]}
    assert set(by_plate) == {"鄂E3887K", "京A12345", "豫B36766"}
    for plate, (sources, paired) in by_plate.items():
        n = ("鄂E3887K", "京A12345", "豫B36766").index(plate)
        expected = {f"v{n}-front.png", f"v{n}-back.png"} if n < 2 else {f"v{n}-front.png"}
        assert {Path(s).name for s in sources.values()} == expected
        assert paired is (n < 2)
    assert vlocr_emulator.counters()["ocr_billed"] == 15  # five images, three runs


def test_a_rerun_under_other_output_options_reshapes_and_never_reuses_stale_output(
    vlocr_connection: dict[str, Any], vlocr_emulator: EmulatorHandle, run_dag: RunDag, tmp_path: Path
) -> None:
    """The same output_path re-run with redact_pii="mask": every answer is re-shaped from the journal (nothing
    billed again) and no owner name is left in the output; then back to "none": a masked name cannot be unmasked,
    so the images are recognised again, never passed through masked."""
    from tests.samples import back_reading

    front, back = make_image(840), make_image(841)
    vlocr_emulator.add_answer(front, front_reading())
    vlocr_emulator.add_answer(back, back_reading())
    (tmp_path / "f.png").write_bytes(front)
    (tmp_path / "b.png").write_bytes(back)
    images = [{"path": str(tmp_path / "f.png"), "side": "front"}, {"path": str(tmp_path / "b.png"), "side": "back"}]
    output = tmp_path / "out" / "licences.jsonl"
    conf: dict[str, Any] = {"images": images, "output_path": str(output)}
    outputs, billed = [], []
    for redaction in ("none", "mask", "none"):
        state, xcoms = run_dag("vlocr_test_records", {**conf, "redact_pii": redaction}, file="vlocr_test_batch.py")
        assert state == "success"
        billed.append(xcoms[("ocr_records", "summary", -1)]["billed"])
        vehicles = output.parent / "licences.vehicles.jsonl"
        outputs.append(output.read_text(encoding="utf-8") + vehicles.read_text(encoding="utf-8"))
    assert FRONT["name"] in outputs[0] and FRONT["address"] in outputs[0]
    for secret in (FRONT["name"], FRONT["address"]):
        assert secret not in outputs[1]  # neither in the items nor in the merged vehicles
    masked = [json.loads(line) for line in outputs[1].splitlines()][:2]  # the items; then the vehicle
    assert [item["shaped_as"]["redact_pii"] for item in masked] == ["mask", "mask"]
    assert masked[0]["record"]["owner_name"] == "穆**" and all(item.get("reshaped") for item in masked)
    assert FRONT["name"] in outputs[2]  # recognised again, not the masked answer passed through
    assert billed == [2, 0, 2] and vlocr_emulator.counters()["ocr_billed"] == 4  # a mask cannot be undone


def test_the_summary_lists_what_needs_review_as_json(
    vlocr_connection: dict[str, Any],
    vlocr_emulator: EmulatorHandle,
    run_dag: RunDag,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A good page, a page whose VIN fails its check digit and a missing file: the summary (JSON in the log and in
    XCom) counts and lists the two that need a person, by field and reason, with no personal data."""
    from airflow_provider_vlocr.core.engines.reading import LicenseReading, PageReading

    good, broken = make_image(850), make_image(851)
    vlocr_emulator.add_answer(good, front_reading())
    bad = {**FRONT, "vin": broken_vin(FRONT["vin"])}
    vlocr_emulator.add_answer(broken, LicenseReading(front=PageReading(fields=bad)))
    for name, image in (("good.png", good), ("broken.png", broken)):
        (tmp_path / name).write_bytes(image)
    images = [{"path": str(tmp_path / name), "side": "front"} for name in ("good.png", "broken.png", "gone.png")]
    state, xcoms = run_dag("vlocr_test_records", {"images": images}, file="vlocr_test_batch.py")
    assert state == "success"
    summary = xcoms[("ocr_records", "summary", -1)]
    assert summary["needs_review"] == 2 and summary["review_truncated"] is False
    reasons = {Path(entry["source"]).name: entry["reasons"] for entry in summary["review"]}
    assert {"field": "vin", "reason": "vin.check_digit"} in reasons["broken.png"]
    assert reasons["gone.png"][0]["reason"].startswith("failed: ")
    assert "good.png" not in reasons
    out = capsys.readouterr().out
    logged, _ = json.JSONDecoder().raw_decode(out, out.rindex("OCR summary: ") + len("OCR summary: "))
    assert logged["needs_review"] == 2 and logged["review"] == summary["review"]  # the log line is JSON
    assert FRONT["name"] not in json.dumps(summary, ensure_ascii=False)


def test_an_empty_input_warns_or_fails_as_asked(
    vlocr_connection: dict[str, Any], run_dag: RunDag, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty").mkdir()
    folder = f"{tmp_path / 'empty'}/"
    state, xcoms = run_dag("vlocr_test_batch", {"images": [folder]})
    assert state == "success" and xcoms[("collect", "return_value", -1)]["summary"]["total"] == 0
    assert "the input names no image" in capsys.readouterr().out  # the warning in the task log
    state, _ = run_dag("vlocr_test_batch", {"images": [folder], "fail_on_empty": True})
    assert state == "failed"


def test_token_expiry_mid_batch_one_refresh_no_lost_image(
    vlocr_connection: dict[str, Any], vlocr_emulator: EmulatorHandle, run_dag: RunDag, tmp_path: Path
) -> None:
    import threading

    paths = write_images(tmp_path, vlocr_emulator, 10, seed=900)
    vlocr_emulator.configure(latency_ms=300)

    def expire_when_half_done() -> None:
        deadline = threading.Event()
        while vlocr_emulator.counters()["ocr_billed"] < 4 and not deadline.wait(0.05):
            pass
        vlocr_emulator.expire_tokens()

    killer = threading.Thread(target=expire_when_half_done, daemon=True)
    killer.start()
    state, xcoms = run_dag("vlocr_test_batch", {"images": paths, "max_error_ratio": 0.0})
    killer.join(timeout=30)
    assert state == "success"
    assert [i["status"] for i in xcoms[("collect", "return_value", -1)]["result"]] == ["ok"] * 10
    counters = vlocr_emulator.counters()
    assert counters["errors_by_code"].get("APIG.0307", 0) >= 1  # the expiry really happened mid-batch
    assert counters["tokens_issued"] == 2  # one refresh, shared by the threads that saw it
    assert counters["ocr_billed"] == 10


def test_expand_kwargs(
    vlocr_connection: dict[str, Any], vlocr_emulator: EmulatorHandle, run_dag: RunDag, tmp_path: Path
) -> None:
    paths = write_images(tmp_path, vlocr_emulator, 3, seed=950)
    kwargs = [{"images": paths[:1], "side": "front"}, {"images": paths[1:], "side": "front"}]
    state, xcoms = run_dag("vlocr_test_expand_kwargs", {"kwargs": kwargs}, file="vlocr_test_batch.py")
    assert state == "success"
    assert [xcoms[("ocr_kwargs", "summary", i)]["ok"] for i in (0, 1)] == [1, 2]
