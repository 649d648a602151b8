"""OpenLineage: one input dataset per source folder or prefix, the results file as the output (the provider runs)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_vlocr.operators.lineage import SourceFolders, batch_lineage, folder_of, location_of
from airflow_provider_vlocr.testing.emulator_handle import EmulatorHandle
from tests.samples import front_reading, make_image

pytest.importorskip("airflow.providers.openlineage", reason="the openlineage extra is not installed")
RunDag = Callable[..., tuple[str, dict[Any, Any]]]


@pytest.mark.parametrize(
    ("uri", "folder"),
    [
        ("/data/in/a.png", ("file", "/data/in")),
        ("file:///data/in/b.jpg", ("file", "/data/in")),
        ("s3://bucket/incoming/2026-11-24/c.jpg", ("s3://bucket", "incoming/2026-11-24")),
        ("obs://bucket/d.png", ("obs://bucket", "")),
        ("https://cdn.example.com/p/e.jpg?X-Signature=secret", ("https://cdn.example.com", "/p")),
        ("<bytes #3>", None),
    ],
)
def test_folders_in_openlineage_naming(uri: str, folder: tuple[str, str] | None) -> None:
    assert folder_of(uri) == folder


def test_one_input_per_folder_not_per_image() -> None:
    sources = SourceFolders()
    for name in ("a.png", "b.png", "c.png"):
        sources.note({"status": "ok", "source": f"s3://bucket/in/{name}"})
    sources.note({"status": "ok", "source": "s3://bucket/other/d.png"})
    sources.note({"status": "error", "source": "s3://bucket/refused/e.png"})  # nothing was read from it
    lineage = batch_lineage(sources.folders, "s3://bucket/out/records.jsonl")
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("s3://bucket", "in"), ("s3://bucket", "other")]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [location_of("s3://bucket/out/records.jsonl")]
    assert batch_lineage(sources.folders, None).outputs == []


def test_the_listener_reports_the_batch(
    vlocr_connection: dict[str, Any],
    vlocr_emulator: EmulatorHandle,
    run_dag: RunDag,
    tmp_path: Path,
) -> None:
    transport = json.loads(os.environ["AIRFLOW__OPENLINEAGE__TRANSPORT"])  # the session's file (conftest)
    events_file = Path(transport["log_file_path"])
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        image = make_image(1300 + i)
        (folder / f"l{i}.png").write_bytes(image)
        vlocr_emulator.add_answer(image, front_reading())
    output = tmp_path / "out" / "records.jsonl"
    conf = {"images": [f"{folder}/"], "output_path": f"file://{output}", "max_error_ratio": 0.0}
    state, _ = run_dag("vlocr_test_batch", conf)
    assert state == "success"
    deadline = time.monotonic() + 30
    complete: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not complete:
        lines = events_file.read_text(encoding="utf-8").splitlines() if events_file.exists() else []
        events = [json.loads(line) for line in lines]
        events = [e for e in events if str(folder) in json.dumps(e.get("inputs", []))]  # this test's run only
        complete = [
            e for e in events if e.get("eventType") == "COMPLETE" and e["job"]["name"] == "vlocr_test_batch.ocr"
        ]
        time.sleep(0.5)
    assert complete, "no COMPLETE event for the OCR task"
    event = complete[-1]
    assert [(d["namespace"], d["name"]) for d in event["inputs"]] == [("file", str(folder))]
    assert [(d["namespace"], d["name"]) for d in event["outputs"]] == [("file", str(output))]
