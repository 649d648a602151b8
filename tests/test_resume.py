"""What an earlier try's items may be reused for: the shape (core/batch/resume.py) and the answer (the pipeline
judges each input's answer_key by the side it is asked with)."""

from __future__ import annotations

from typing import Any

from airflow_provider_vlocr.core.batch.loading import ImageLoader
from airflow_provider_vlocr.core.batch.pipeline import BatchSettings, recognize_batch
from airflow_provider_vlocr.core.batch.resume import answer_key, reusable, shaped_as
from airflow_provider_vlocr.core.engines.answers import AnswersEngine
from airflow_provider_vlocr.core.models import RecognizeOptions
from tests.samples import back_reading, front_reading, make_image

FRONT = RecognizeOptions(side="front")


def stored(**shape: Any) -> dict[str, Any]:
    shape = {"records": True, "redact_pii": "none", **shape}
    return {"key": "k#1", "status": "ok", "side": "front", "result": {"name": "王京"}, "record": {"valid": True},
            "answer_key": answer_key("huaweicloud", FRONT), "shaped_as": shaped_as(**shape)}  # fmt: skip


def test_the_same_shape_passes_through() -> None:
    found = reusable({"k#1": stored()}, shaped_as(True, "none"))  # type: ignore[dict-item]
    assert list(found.items) == ["k#1"] and (found.reshaped, found.again) == (0, 0)
    assert "reshaped" not in found.items["k#1"]


def test_other_output_options_reshape_what_can_be_reshaped() -> None:
    unredacted = {"k#1": stored()}
    to_mask = reusable(unredacted, shaped_as(True, "mask"))  # type: ignore[arg-type]
    assert to_mask.reshaped == 1 and to_mask.items["k#1"].get("reshaped") is True
    assert "record" not in to_mask.items["k#1"]  # made again, under the new options
    without_records = reusable(unredacted, shaped_as(False, "none"))  # type: ignore[arg-type]
    assert without_records.reshaped == 1
    masked = {"k#1": stored(redact_pii="mask")}
    for mode in ("none", "hash"):  # a masked name cannot be unmasked, nor hashed
        again = reusable(masked, shaped_as(True, mode))  # type: ignore[arg-type]
        assert (again.items, again.again) == ({}, 1)
    unknown = {"k#1": {**stored(), "shaped_as": None}}  # written before items said how they were shaped
    assert reusable(unknown, shaped_as(True, "none")).again == 1  # type: ignore[arg-type]


def answers_engine(*pages: tuple[bytes, Any]) -> AnswersEngine:
    engine = AnswersEngine()
    for image, reading in pages:
        engine.add(image, reading)
    return engine


def test_an_answer_counts_only_for_the_engine_and_options_it_was_made_under() -> None:
    image = make_image(880)
    engine = answers_engine((image, front_reading()))
    settings = BatchSettings(options=FRONT)
    (first,) = recognize_batch([image], engine, ImageLoader(), settings)
    previous = {first["key"]: first}
    (again,) = recognize_batch([image], engine, ImageLoader(), settings, previous=previous)  # type: ignore[arg-type]
    assert again.get("resumed") is True
    located = BatchSettings(options=FRONT.model_copy(update={"return_text_location": True}))
    (other,) = recognize_batch([image], engine, ImageLoader(), located, previous=previous)  # type: ignore[arg-type]
    assert not other.get("resumed") and other["status"] == "ok"  # another API option: another answer
    stale = {first["key"]: {**first, "answer_key": answer_key("huaweicloud", FRONT)}}
    (sent,) = recognize_batch([image], engine, ImageLoader(), settings, previous=stale)  # type: ignore[arg-type]
    assert not sent.get("resumed")  # another engine's answer


def test_a_detected_page_resumes_under_the_side_it_was_asked_with() -> None:
    """side=None: the item says the page the engine detected (back), but its answer was asked for with no side;
    a re-run resumes it rather than paying for it again."""
    image = make_image(881)
    engine = answers_engine((image, back_reading()))
    settings = BatchSettings(options=RecognizeOptions())
    (first,) = recognize_batch([image], engine, ImageLoader(), settings)
    assert first["side"] == "back"
    (again,) = recognize_batch([image], engine, ImageLoader(), settings, previous={first["key"]: first})  # type: ignore[arg-type]
    assert again.get("resumed") is True
