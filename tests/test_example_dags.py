"""The example DAGs run end to end under dag.test() against the emulator, on generated licence photos."""

from __future__ import annotations

import importlib.util
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from airflow_provider_vlocr.testing.emulator_handle import EmulatorHandle
from airflow_provider_vlocr.testing.licence_generator import fonts_available, generate
from tests.dag_runs import airflow_version, dag_test, xcoms_of

RunDag = Callable[..., tuple[str, dict[Any, Any]]]
EXAMPLES = Path(__file__).resolve().parents[1] / "example_dags"
pytestmark = pytest.mark.skipif(not fonts_available(), reason="no CJK font installed (make fonts)")


def load_example(file: str) -> ModuleType:
    """An example DAG file as a module (its DAG objects and constants)."""
    spec = importlib.util.spec_from_file_location(f"example_{Path(file).stem}", EXAMPLES / file)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def sample_folder(
    tmp_path: Path, vlocr_emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, dict[str, dict[str, str]]]:
    folder = tmp_path / "samples"
    folder.mkdir()
    # the example DAGs allow local files only under the folder the DAG author configured
    monkeypatch.setenv("VLOCR_EXAMPLE_FOLDER", f"file://{folder}")
    monkeypatch.setenv("VLOCR_EXAMPLE_ROOT", str(folder))
    truth = {}
    for sample in generate(2, seed=11, variants=("clean",)):
        (folder / sample.name).write_bytes(sample.image)
        vlocr_emulator.add_answer(sample.image, sample.reading)
        truth[sample.name] = sample.truth
    return folder, truth


def test_single_licence_plate_and_owner(
    vlocr_connection: dict[str, Any], run_dag: RunDag, sample_folder: tuple[Path, dict[str, dict[str, str]]]
) -> None:
    folder, truth = sample_folder
    state, xcoms = run_dag(
        "vlocr_example_single", {"image": str(folder / "v000_front_clean.png")}, file="example_vlocr_single.py"
    )
    assert state == "success"
    expected = truth["v000_front_clean.png"]
    returned = xcoms[("plate_and_owner_present", "return_value", -1)]
    assert returned == {"plate": expected["number"], "owner_read": True}
    assert expected["name"] not in json.dumps(returned, ensure_ascii=False)  # no personal data in the task log


def test_mapped_batch_loads_sqlite(
    vlocr_connection: dict[str, Any],
    vlocr_emulator: EmulatorHandle,
    run_dag: RunDag,
    tmp_path: Path,
    sample_folder: tuple[Path, dict[str, dict[str, str]]],
) -> None:
    folder, truth = sample_folder
    database = tmp_path / "records.sqlite"
    conf = {"folder": f"file://{folder}", "database": str(database), "batch_size": 3}
    state, xcoms = run_dag("vlocr_example_mapped", conf, file="example_vlocr_mapped.py")
    assert state == "success"
    assert xcoms[("load_sqlite", "return_value", -1)] == 4
    with sqlite3.connect(database) as db:
        rows = dict(db.execute("SELECT source, vin FROM vehicle_licence WHERE side = 'front'").fetchall())
    assert {Path(k).name: v for k, v in rows.items()} == {
        name: t["vin"] for name, t in truth.items() if "_front_" in name
    }
    assert vlocr_emulator.counters()["ocr_billed"] == 4


def test_scheduled_batch_writes_jsonl(
    vlocr_connection: dict[str, Any], run_dag: RunDag, sample_folder: tuple[Path, dict[str, dict[str, str]]]
) -> None:
    folder, truth = sample_folder
    state, xcoms = run_dag("vlocr_example_scheduled", {"folder": f"file://{folder}"}, file="example_vlocr_scheduled.py")
    assert state == "success"
    result = xcoms[("recognize_folder", "return_value", -1)]
    assert set(result) == {"summary", "output_path"} and result["summary"]["ok"] == 4
    output = Path(result["output_path"].removeprefix("file://"))
    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert {Path(r["source"]).name: r["result"]["number"] for r in records} == {
        name: t["number"] for name, t in truth.items()
    }


def test_asset_event_carries_the_manifest_to_the_consumer(
    vlocr_connection: dict[str, Any],
    vlocr_emulator: EmulatorHandle,
    run_dag: RunDag,
    sample_folder: tuple[Path, dict[str, dict[str, str]]],
) -> None:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    folder, truth = sample_folder
    state, xcoms = run_dag(
        "vlocr_example_asset_producer", {"folder": f"file://{folder}"}, file="example_vlocr_assets.py"
    )
    assert state == "success"
    output = xcoms[("recognize_folder", "return_value", -1)]["output_path"]
    with create_session() as session:
        event = (
            session.query(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetModel.uri == "file:///tmp/vlocr-records/licences.jsonl")
            .order_by(AssetEvent.id.desc())
            .first()
        )
        assert event is not None
        extra = dict(event.extra)
    assert extra["total"] == extra["ok"] == len(truth) == extra["outcomes"]["ok"]
    assert extra["results"] == output and extra["billed"] == len(truth)
    names = [t["name"] for t in truth.values() if "name" in t]
    assert not any(name in json.dumps(extra, ensure_ascii=False) for name in names)  # no personal data
    module = load_example("example_vlocr_assets.py")
    condition = module.consumer.timetable.asset_condition  # scheduled on the asset the producer fills
    assert [asset.uri for asset in condition.objects] == [module.RECORDS.uri]


def test_nightly_job_loads_the_good_rows_even_when_the_ocr_task_fails(
    vlocr_connection: dict[str, Any],
    vlocr_emulator: EmulatorHandle,
    run_dag: RunDag,
    tmp_path: Path,
    sample_folder: tuple[Path, dict[str, dict[str, str]]],
) -> None:
    """The README's recipe: folder -> JSON Lines -> SQLite. One unreadable photo in five: the run succeeds under
    max_error_ratio 0.5; with 0.0 the OCR task fails, and the loader still loads the good rows and parks the bad."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    folder, truth = sample_folder
    (folder / "v009_front_broken.png").write_bytes(b"not an image at all")
    names = [t["name"] for t in truth.values() if "name" in t]
    for ratio, ocr_state in ((0.5, "success"), (0.0, "failed")):
        database = tmp_path / f"nightly-{ratio}.sqlite"
        conf = {"folder": f"file://{folder}", "database": str(database), "max_error_ratio": ratio}
        state, xcoms = run_dag("vlocr_example_nightly", conf, file="example_vlocr_nightly.py")
        assert state == "success"  # the loader is the leaf, and it ran
        with create_session() as session:
            query = session.query(TaskInstance).filter(TaskInstance.task_id == "recognize_folder")
            ocr = query.order_by(TaskInstance.start_date.desc()).first()
            assert ocr is not None and str(ocr.state) == ocr_state
        assert xcoms[("load", "return_value", -1)] == {"loaded": 4, "review": 1}
        with sqlite3.connect(database) as db:
            plates = {Path(s).name: p for s, p in db.execute("SELECT source, plate FROM licence_page")}
            reasons = dict(db.execute("SELECT source, reason FROM licence_review"))
            dump = json.dumps(db.execute("SELECT * FROM licence_page").fetchall(), ensure_ascii=False)
        assert plates == {name: t["number"] for name, t in truth.items()}
        assert [Path(s).name for s in reasons] == ["v009_front_broken.png"]
        assert not any(name in dump for name in names)  # owner data masked on its way to the database
    assert vlocr_emulator.counters()["ocr_billed"] == 4  # the second run resumed from the first's journal


def test_one_asset_event_per_task_run_never_per_image_or_chunk(
    vlocr_connection: dict[str, Any], run_dag: RunDag, sample_folder: tuple[Path, dict[str, dict[str, str]]]
) -> None:
    """Airflow 3.4 starts a consumer run per asset event (``batch_asset_events`` off by default): a batch of four
    images in two glob items emits one event, and no example puts an outlet on a mapped (per-chunk) task."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    def events() -> int:
        with create_session() as session:
            query = session.query(AssetEvent).join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            return query.filter(AssetModel.uri == "file:///tmp/vlocr-records/licences.jsonl").count()

    folder, truth = sample_folder
    before = events()
    state, xcoms = run_dag(
        "vlocr_example_asset_producer", {"folder": f"file://{folder}"}, file="example_vlocr_assets.py"
    )
    assert state == "success" and xcoms[("recognize_folder", "return_value", -1)]["summary"]["total"] == len(truth)
    assert events() - before == 1
    for example in sorted(EXAMPLES.glob("example_*.py")):
        if example.name == "example_vlocr_review.py" and airflow_version() < (3, 1):
            continue  # human-in-the-loop operators need Airflow 3.1+
        dags = [value for value in vars(load_example(example.name)).values() if type(value).__name__ == "DAG"]
        for task in (task for dag in dags for task in dag.tasks):
            mapped = type(task).__name__ == "MappedOperator"
            assert not (mapped and task.outlets), f"{example.name}: {task.task_id} emits an event per chunk"


@pytest.mark.skipif(airflow_version() < (3, 1), reason="human-in-the-loop operators need Airflow 3.1+")
def test_records_with_errors_go_to_human_review(
    vlocr_connection: dict[str, Any],
    vlocr_emulator: EmulatorHandle,
    airflow_db: Path,
    sample_folder: tuple[Path, dict[str, dict[str, str]]],
) -> None:
    from airflow.providers.standard.operators.hitl import HITLEntryOperator

    from airflow_provider_vlocr.testing.licence_generator import generate as render

    folder, truth = sample_folder
    broken = next(s for s in render(1, seed=12, variants=("clean",), sides=("front",)))
    reading = broken.reading.model_copy(deep=True)
    assert reading.front is not None
    vin = reading.front.fields["vin"]
    reading.front.fields["vin"] = vin[:-1] + ("1" if vin[-1] != "1" else "2")  # the check digit now fails
    (folder / "z_front_broken.png").write_bytes(broken.image)
    vlocr_emulator.add_answer(broken.image, reading)
    module = load_example("example_vlocr_review.py")
    review = module.dag.get_task("review")  # mapped over the review texts: one human task per doubtful record
    assert review.operator_class is HITLEntryOperator
    # A human task waits for a person: run everything up to it (dag.test() on the upstream subset).
    upstream = module.dag.partial_subset(task_ids=["needs_review"], include_upstream=True)
    run = dag_test(upstream, {"folder": f"file://{folder}"})
    assert str(run.state) == "success"
    bodies = xcoms_of(run.run_id)[("needs_review", "return_value", -1)]
    assert len(bodies) == 1 and "z_front_broken.png" in bodies[0] and "vin.check_digit" in bodies[0]
    names = [t["name"] for t in truth.values() if "name" in t]
    assert not any(name in bodies[0] for name in names)  # reviewers see masked owner data
    report = Path(bodies[0].rsplit(": ", 1)[1].removeprefix("file://"))  # the body links the review report
    assert report.name.endswith(".review.html") and "z_front_broken.png" in report.read_text(encoding="utf-8")


def test_scale_example_maps_chunks_under_a_pool_and_sums_billed_calls(
    vlocr_connection: dict[str, Any],
    vlocr_emulator: EmulatorHandle,
    run_dag: RunDag,
    sample_folder: tuple[Path, dict[str, dict[str, str]]],
) -> None:
    folder, truth = sample_folder
    module = load_example("example_vlocr_scale.py")
    chunk_task = module.dag.get_task("recognize_chunk")
    assert chunk_task.partial_kwargs["pool"] == module.POOL
    assert chunk_task.partial_kwargs["max_requests_per_second"] == module.TASK_QPS
    conf = {"folder": f"file://{folder}", "chunks": 3}
    state, xcoms = run_dag("vlocr_example_scale", conf, file="example_vlocr_scale.py")
    assert state == "success"
    chunks = [xcoms[("recognize_chunk", "return_value", i)] for i in range(3)]
    assert [c["summary"]["total"] for c in chunks] == [2, 1, 1]
    assert all(f"chunk-{i}.jsonl" in c["output_path"] for i, c in enumerate(chunks))
    summary = xcoms[("summarize", "return_value", -1)]
    assert summary == {"chunks": 3, "images": 4, "ok": 4, "error": 0, "billed": 4, "billed_per_try": {"1": 4}}
    assert vlocr_emulator.counters()["ocr_billed"] == 4 == len(truth)
