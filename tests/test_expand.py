"""Folder, prefix and glob items: expanded to their image files under the same rules as single files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_vlocr.core.batch.expand import expand_items
from airflow_provider_vlocr.core.batch.loading import ImageLoader
from airflow_provider_vlocr.core.batch.pipeline import BatchSettings, recognize_batch
from airflow_provider_vlocr.core.engines.answers import AnswersEngine
from airflow_provider_vlocr.core.errors import ImageValidationError
from airflow_provider_vlocr.core.models import RecognizeOptions
from tests.samples import front_reading, make_image


@pytest.fixture
def folder(tmp_path: Path) -> tuple[Path, AnswersEngine]:
    root = tmp_path / "incoming"
    (root / "nested").mkdir(parents=True)
    engine = AnswersEngine()
    for i, name in enumerate(["b_front.png", "a_front.PNG", "c_back.jpg"]):
        image = make_image(700 + i)
        (root / name).write_bytes(image)
        engine.add(image, front_reading())
    (root / "notes.txt").write_text("not an image")
    (root / "nested" / "d.png").write_bytes(make_image(799))  # no recursion
    outside = tmp_path / "secret.png"
    outside.write_bytes(make_image(798))
    os.symlink(outside, root / "link.png")  # a symlink is never listed (it could point anywhere)
    return root, engine


def run(items: Any, roots: list[Path], engine: AnswersEngine) -> list[dict[str, Any]]:
    loader = ImageLoader.build(local_roots=[str(r) for r in roots])
    batch = recognize_batch(items, engine, loader, BatchSettings(options=RecognizeOptions(side="front")))
    return sorted(batch, key=lambda r: r["index"])


def test_a_folder_expands_to_its_images_in_sorted_order(folder: tuple[Path, AnswersEngine]) -> None:
    root, engine = folder
    records = run([f"{root}/"], [root], engine)
    assert [Path(r["source"]).name for r in records] == ["a_front.PNG", "b_front.png", "c_back.jpg"]
    assert all(r["status"] == "ok" for r in records)


def test_skipped_files_are_said_and_refusals_name_what_would_pass(
    folder: tuple[Path, AnswersEngine], caplog: pytest.LogCaptureFixture
) -> None:
    root, engine = folder
    with caplog.at_level("WARNING"):
        run([f"{root}/"], [root], engine)
    assert any("1 file(s) skipped, not images by extension (.txt)" in r.getMessage() for r in caplog.records)
    other = root.parent / "elsewhere"
    other.mkdir()
    (outside,) = run([f"{other}/"], [root], engine)
    assert outside["error"]["code"] == "allowed_local_roots" and str(root) in outside["error"]["message"]
    (directory,) = run([str(root)], [root], engine)  # a folder without its trailing '/'
    assert directory["error"]["code"] == "regular-file" and "end it with '/'" in directory["error"]["message"]


def test_a_glob_and_a_file_uri_folder(folder: tuple[Path, AnswersEngine]) -> None:
    root, engine = folder
    records = run([f"{root}/*_front.*", f"file://{root}/"], [root], engine)
    names = [Path(r["source"]).name for r in records]
    assert names == ["a_front.PNG", "b_front.png", "a_front.PNG", "b_front.png", "c_back.jpg"]
    assert records[2]["source"].startswith("file://")


def test_a_dict_item_keeps_its_side(folder: tuple[Path, AnswersEngine]) -> None:
    root, _ = folder
    expanded = expand_items([{"path": f"{root}/c_*", "side": "back"}], local_roots=(root,), lister=None)
    assert expanded == [{"path": f"{root}/c_back.jpg", "side": "back"}]


@pytest.mark.parametrize(
    ("item", "rule"),
    [
        ("{tmp}/", "allowed_local_roots"),  # the folder above the allowed root
        ("{root}/../*.png", "allowed_local_roots"),
        ("{root}/*/d.png", "glob"),
        ("{root}/missing/", "readable"),
        ("memory://bucket/x/", "storage-scheme"),
        ("s3::memory://bucket/x/", "storage-scheme"),
        ("s3://aws_default@bucket/x/", "storage-uri"),
        ("s3://bucket/x/*.jpg", "storage"),  # no lister configured
    ],
)
def test_a_folder_that_breaks_a_rule_is_one_error_record(
    folder: tuple[Path, AnswersEngine], item: str, rule: str
) -> None:
    root, engine = folder
    records = run([item.format(root=root, tmp=root.parent), make_image(700)], [root], engine)
    assert len(records) == 2 and records[1]["status"] == "ok"
    assert records[0]["status"] == "error" and records[0]["error"]["code"] == rule


def test_more_images_than_the_cap_is_one_error(folder: tuple[Path, AnswersEngine]) -> None:
    root, _ = folder
    [error] = expand_items([f"{root}/"], local_roots=(root,), lister=None, cap=2)
    assert isinstance(error, ImageValidationError) and error.rule == "expand-cap" and "3 images" in str(error)


def test_object_store_prefixes_and_globs_go_through_the_lister(folder: tuple[Path, AnswersEngine]) -> None:
    listed: list[str] = []

    def lister(uri: str) -> list[str]:
        listed.append(uri)
        return ["s3://b/x/2.jpg", "s3://b/x/readme.md", "s3://b/x/1.png"]

    expanded = expand_items(["s3://b/x/", "s3://b/x/*.jpg", "s3://b/x/1.png"], local_roots=(), lister=lister)
    assert expanded == ["s3://b/x/1.png", "s3://b/x/2.jpg", "s3://b/x/1.png", "s3://b/x/2.jpg", "s3://b/x/1.png"]
    assert listed == ["s3://b/x/", "s3://b/x/*.jpg"]


def test_the_operator_lister_over_object_storage_paths(folder: tuple[Path, AnswersEngine]) -> None:
    from airflow_provider_vlocr.operators.object_storage import list_storage

    root, _ = folder
    assert list_storage(f"file://{root}/*_front.*") == [f"file://{root}/a_front.PNG", f"file://{root}/b_front.png"]
    assert "notes.txt" in [Path(uri).name for uri in list_storage(f"file://{root}/")]  # filtered by the pipeline


def test_an_http_url_is_always_one_image() -> None:
    items = ["https://example.com/photos/", "https://example.com/a.jpg?size=*"]
    assert expand_items(items, local_roots=(), lister=None) == items
