"""The journal, the result cache and the billed-call budget: unit level and through a real Airflow run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from airflow_provider_vlocr.core.batch.journal import Journal
from airflow_provider_vlocr.operators.object_storage import ObjectStorage
from airflow_provider_vlocr.testing.emulator_handle import EmulatorHandle
from tests.samples import front_reading, make_image

RunDag = Callable[..., tuple[str, dict[Any, Any]]]


def record(index: int, status: str = "ok", **extra: Any) -> dict[str, Any]:
    return {"index": index, "key": f"k{index}#1", "status": status, **extra}


def test_local_journal_is_durable_resumable_and_compacted(tmp_path: Path) -> None:
    output = tmp_path / "out.jsonl"
    first = Journal(str(output), ObjectStorage(), try_number=1).open()
    for index, status in ((2, "ok"), (0, "error"), (1, "ok")):
        first.append(record(index, status, billed=status == "ok", try_number=1))
    first.close()
    with output.open("a", encoding="utf-8") as handle:
        handle.write('{"index": 3, "key": "k3#1", "sta')  # a writer killed mid-line
    second = Journal(str(output), ObjectStorage(), try_number=2)
    assert set(second.previous_ok()) == {"k1#1", "k2#1"}
    second.open().append(record(0, "ok", billed=True, try_number=2))
    assert second.finish() == 3
    lines = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [(r["index"], r["status"]) for r in lines] == [(0, "ok"), (1, "ok"), (2, "ok")]
    assert second.billed_per_try() == {"1": 2, "2": 1}


class RemoteFolder(ObjectStorage):
    """A folder standing in for a remote store: the journal sees no local path, so it spools and uploads parts."""

    def local_path(self, uri: str) -> Path | None:
        return None


def test_object_storage_journal_uploads_parts_and_merges(tmp_path: Path) -> None:
    output = f"file://{tmp_path}/bucket/out.jsonl"
    storage = RemoteFolder()
    journal = Journal(output, storage, try_number=1, part_records=2, spool_dir=tmp_path / "spool").open()
    for index in range(5):
        journal.append(record(4 - index))
    assert len(storage.files(journal.parts)) == 2  # every 2 records
    journal.close()  # the rest goes up as a last part
    assert len(storage.files(journal.parts)) == 3
    other_worker = Journal(output, storage, try_number=2, spool_dir=tmp_path / "elsewhere")
    assert len(other_worker.previous_ok()) == 5  # a retry on another machine resumes from the parts
    assert other_worker.finish() == 5
    with storage.open_text(output, "r") as handle:
        assert [json.loads(line)["index"] for line in handle] == [0, 1, 2, 3, 4]
    assert not storage.exists(journal.parts) or storage.files(journal.parts) == []


def _images(emulator: EmulatorHandle, tmp_path: Path, count: int, seed: int) -> list[str]:
    paths = []
    for i in range(count):
        image = make_image(seed + i)
        emulator.add_answer(image, front_reading())
        path = tmp_path / f"j-{seed + i}.png"
        path.write_bytes(image)
        paths.append(str(path))
    return paths


def test_cache_answers_a_photo_seen_before_without_a_bill(
    vlocr_connection: dict[str, Any], vlocr_emulator: EmulatorHandle, run_dag: RunDag, tmp_path: Path
) -> None:
    paths = _images(vlocr_emulator, tmp_path, 4, 8100)
    conf = {"images": paths, "cache_path": f"file://{tmp_path / 'cache'}"}
    state, xcoms = run_dag("vlocr_test_journal", conf, file="vlocr_test_batch.py")
    assert state == "success" and vlocr_emulator.counters()["ocr_billed"] == 4
    state, xcoms = run_dag("vlocr_test_journal", conf, file="vlocr_test_batch.py")  # another run, same photos
    assert state == "success" and vlocr_emulator.counters()["ocr_billed"] == 4
    items = xcoms[("ocr_journal", "return_value", -1)]
    assert all(item["cached"] and not item.get("billed") for item in items)
    summary = xcoms[("ocr_journal", "summary", -1)]
    assert summary["outcomes"] == {"cached": 4} and summary["billed"] == 0


def test_budget_caps_billed_calls_across_runs_and_is_not_a_failure(
    vlocr_connection: dict[str, Any], vlocr_emulator: EmulatorHandle, run_dag: RunDag, tmp_path: Path
) -> None:
    paths = _images(vlocr_emulator, tmp_path, 6, 8200)
    output = tmp_path / "out" / "budget.jsonl"
    conf = {"images": paths, "output_path": str(output), "max_billed_calls": 3}
    state, xcoms = run_dag("vlocr_test_journal", conf, file="vlocr_test_batch.py")
    assert state == "success" and vlocr_emulator.counters()["ocr_billed"] == 3
    summary = xcoms[("ocr_journal", "summary", -1)]
    assert summary["budget_skipped"] == 3 and summary["error"] == 0
    assert summary["outcomes"] == {"ok": 3, "budget": 3} and summary["billed_per_try"] == {"1": 3}
    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["status"] for r in records) == ["error"] * 3 + ["ok"] * 3
    assert {r["error"]["code"] for r in records if r["status"] == "error"} == {"budget"}
    state, xcoms = run_dag(
        "vlocr_test_journal", conf, file="vlocr_test_batch.py"
    )  # the journal says the budget is spent: nothing sent
    assert state == "success" and vlocr_emulator.counters()["ocr_billed"] == 3
    summary = xcoms[("ocr_journal", "summary", -1)]
    assert summary["outcomes"] == {"resumed": 3, "budget": 3}


def test_an_output_path_under_a_file_is_a_typed_error(
    vlocr_connection: dict[str, Any], run_dag: RunDag, tmp_path: Path
) -> None:
    """Not a raw FileExistsError: the task fails at once (no retry can help), naming output_path."""
    import pytest

    from airflow_provider_vlocr.core.errors import ConfigurationError

    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(ConfigurationError, match=r"output_path .* is a file, not a folder"):
        Journal(str(tmp_path / "a-file" / "out.jsonl"), ObjectStorage()).open()
    output = tmp_path / "a-file" / "out.jsonl"
    state, _ = run_dag("vlocr_test_batch", {"images": [str(tmp_path / "x.png")], "output_path": str(output)})
    assert state == "failed"
