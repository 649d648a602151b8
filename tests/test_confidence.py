"""Per-field confidence of local readings: parser evidence checked by the licence's own rules."""

from __future__ import annotations

import re

import pytest

from airflow_provider_vlocr.core.engines.confidence import FORMATS, doubtful, field_confidence
from airflow_provider_vlocr.core.engines.reading import LicenseReading, PageReading, shape_result
from airflow_provider_vlocr.core.models import RecognizeOptions
from airflow_provider_vlocr.licence import to_record
from airflow_provider_vlocr.licence.schema import DOUBTFUL_BELOW
from tests.samples import BACK as SAMPLE_BACK
from tests.samples import FRONT as SAMPLE_FRONT

# Huawei's demo values, with a VIN whose model year (D = 2013) fits the 2013 register date: no rule is broken.
FRONT = {**{k: v for k, v in SAMPLE_FRONT.items() if k != "issuing_authority"}, "vin": "LFGGF53W4DH228343"}
BACK = SAMPLE_BACK


def scores(
    front: dict[str, str] | None = None, back: dict[str, str] | None = None, **options: object
) -> dict[str, float]:
    pages = {
        name: PageReading(fields=fields, confidence=dict.fromkeys(fields, 0.99))
        for name, fields in (("front", front), ("back", back))
        if fields is not None
    }
    reading = LicenseReading(**pages)
    side = "double_side" if len(pages) == 2 else next(iter(pages))
    asked = RecognizeOptions(side=side, **options)  # type: ignore[arg-type]
    return field_confidence(shape_result(reading, asked), reading, asked)


def test_a_clean_reading_is_confident() -> None:
    front = scores(FRONT)
    assert min(front.values()) >= DOUBTFUL_BELOW and doubtful(front) == []
    assert doubtful(scores(back=BACK)) == []


def test_rules_cast_doubt_on_the_fields_they_involve() -> None:
    assert doubtful(scores({**FRONT, "vin": "LFGGF53W4DH228344"})) == ["vin"]  # check digit
    assert doubtful(scores({**FRONT, "number": "鄂E3887"})) == ["number"]  # plate grammar
    assert set(doubtful(scores({**FRONT, "issue_date": "2012-06-18"}))) == {"register_date", "issue_date"}
    assert doubtful(scores({**FRONT, "use_character": "非营逵"})) == ["use_character"]  # not a known use
    assert doubtful(scores(back={**BACK, "inspection_record": "检验有效期至2015年06月峡B(16)"})) == [
        "inspection_record"
    ]
    assert set(doubtful(scores(back={**BACK, "unladen_mass": "2750kg"}))) == {"gross_mass", "unladen_mass"}
    both = scores({**FRONT}, {**BACK, "number": "鄂E3881K"})
    assert both["number"] < DOUBTFUL_BELOW  # the two pages disagree


def test_blank_masses_are_judged_by_the_other_masses() -> None:
    car = scores(back=BACK)
    assert car["approved_load"] >= DOUBTFUL_BELOW  # 2170 - 1750 - 5 x 65: no room for a load
    truck = scores(back={**BACK, "gross_mass": "18000kg", "unladen_mass": "7000kg", "approved_passengers": "3人"})
    assert truck["approved_load"] < DOUBTFUL_BELOW


def test_missing_and_empty_fields_are_doubtful() -> None:
    front = {k: v for k, v in FRONT.items() if k != "engine_no"}
    got = scores({**front, "name": ""})
    assert got["engine_no"] == 0.0 and got["name"] < DOUBTFUL_BELOW
    assert "issuing_authority" not in got
    assert scores(FRONT, return_issuing_authority=True)["issuing_authority"] == 0.0


def test_a_seal_missing_its_province_is_doubtful() -> None:
    front = {**FRONT, "issuing_authority": "东省深圳市公安局交通警察支队"}
    assert "issuing_authority" in doubtful(scores(front, return_issuing_authority=True))
    front["issuing_authority"] = "广东省深圳市公安局交通警察支队"
    assert "issuing_authority" not in doubtful(scores(front, return_issuing_authority=True))


def test_records_carry_the_confidence_of_an_item() -> None:
    item = {
        "status": "ok",
        "result": FRONT,
        "field_confidence": {"vin": 0.2, "number": 0.99},
        "doubtful_fields": ["vin"],
    }
    record = to_record(item)
    assert record.field_confidence == {"vin": 0.2, "number": 0.99} and record.doubtful_fields == ["vin"]
    assert to_record(FRONT).field_confidence == {}


@pytest.mark.parametrize(
    ("authority", "fits"),
    [
        ("广东省深圳市公安局交通警察支队", True),
        ("北京市公安局公安交通管理局车辆管理所", True),
        ("浙江省宁波市公安局交通警察局", True),
        ("广东省深圳市公安局交警察支队", False),  # a character dropped from the seal
        ("东省深圳市公安局交通警察支队", False),  # the province's first character not read
    ],
)
def test_issuing_authority_format(authority: str, fits: bool) -> None:
    assert bool(re.fullmatch(FORMATS["issuing_authority"], authority)) is fits
