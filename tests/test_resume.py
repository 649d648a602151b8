"""What an earlier try's items may be reused for (core/batch/resume.py)."""

from __future__ import annotations

from typing import Any

from airflow_provider_vlocr.core.batch.resume import answer_key, reusable, shaped_as
from airflow_provider_vlocr.core.models import RecognizeOptions

FRONT = RecognizeOptions(side="front")


def stored(engine: str = "huaweicloud", options: RecognizeOptions = FRONT, **shape: Any) -> dict[str, Any]:
    shape = {"records": True, "redact_pii": "none", **shape}
    return {"key": "k#1", "status": "ok", "side": "front", "result": {"name": "王京"}, "record": {"valid": True},
            "answer_key": answer_key(engine, options), "shaped_as": shaped_as(**shape)}  # fmt: skip


def test_the_same_options_pass_through() -> None:
    found = reusable({"k#1": stored()}, "huaweicloud", FRONT, shaped_as(True, "none"))  # type: ignore[dict-item]
    assert list(found.items) == ["k#1"] and (found.reshaped, found.again) == (0, 0)
    assert "reshaped" not in found.items["k#1"]


def test_other_output_options_reshape_what_can_be_reshaped() -> None:
    unredacted = {"k#1": stored()}
    to_mask = reusable(unredacted, "huaweicloud", FRONT, shaped_as(True, "mask"))  # type: ignore[arg-type]
    assert to_mask.reshaped == 1 and to_mask.items["k#1"].get("reshaped") is True
    assert "record" not in to_mask.items["k#1"]  # made again, under the new options
    without_records = reusable(unredacted, "huaweicloud", FRONT, shaped_as(False, "none"))  # type: ignore[arg-type]
    assert without_records.reshaped == 1
    masked = {"k#1": stored(redact_pii="mask")}
    for mode in ("none", "hash"):  # a masked name cannot be unmasked, nor hashed
        again = reusable(masked, "huaweicloud", FRONT, shaped_as(True, mode))  # type: ignore[arg-type]
        assert (again.items, again.again) == ({}, 1)


def test_another_engine_or_api_option_is_another_answer() -> None:
    item = {"k#1": stored()}
    assert reusable(item, "local", FRONT, shaped_as(True, "none")).again == 1  # type: ignore[arg-type]
    located = FRONT.model_copy(update={"return_text_location": True})
    assert reusable(item, "huaweicloud", located, shaped_as(True, "none")).again == 1  # type: ignore[arg-type]
    unknown = {"k#1": {**stored(), "shaped_as": None, "answer_key": None}}  # written before items said so
    assert reusable(unknown, "huaweicloud", FRONT, shaped_as(True, "none")).again == 1  # type: ignore[arg-type]
