"""Validated records: table-driven vectors from shared/docs/validation-rules.md, property tests, real ground truth."""

from __future__ import annotations

import json
import random
import string
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_vlocr.core.models import VehicleLicenseResult
from airflow_provider_vlocr.licence import merge_pages, redact, to_record
from airflow_provider_vlocr.licence.normalise import (
    parse_date,
    parse_dimension,
    parse_inspection_valid_until,
    parse_mass,
    parse_passengers,
)
from airflow_provider_vlocr.licence.plates import check_plate
from airflow_provider_vlocr.licence.vin import check_digit_ok, model_year, repair
from airflow_provider_vlocr.testing.licence_values import make_vin
from tests.samples import BACK, FRONT


def rules_of(record: Any) -> list[str]:
    """The findings of the rules under test: these tests read page fragments, so the fields every page carries
    are missing (the required-field rule has a test of its own)."""
    return [f.code for f in record.findings if f.code != "field.missing"]


def valid_but_for_missing_fields(record: Any) -> bool:
    return not [f for f in record.findings if f.severity == "error" and f.code != "field.missing"]

# -- VIN ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("vin", ["LBEHDAEB58Y038860", "LZFF25M4X8D004248", "LSVCY6C49MN027789", "LZZ1ELSEXLW644557"])
def test_vin_vectors_accepted(vin: str) -> None:
    assert check_digit_ok(vin)
    record = to_record({"vin": vin})
    assert not [f for f in record.findings if f.field == "vin" and f.severity == "error"]


def test_vin_vector_rejected_tencent_sample() -> None:
    record = to_record({"vin": "ABCDEFGH123456789"})
    assert rules_of(record) == ["vin.check_digit"]
    assert not record.valid


@pytest.mark.parametrize(
    ("vin", "year", "expected"), [("LBEHDAEB58Y038860", 2008, 2008), ("LSVCY6C49MN027789", 2021, 2021)]
)
def test_model_year_matches_register_year(vin: str, year: int, expected: int) -> None:
    assert model_year(vin, year) == expected


def test_vin_repair_is_recorded_with_the_original() -> None:
    record = to_record({"vin": "LBEHDAEB58YO3886O"})  # O for 0, twice
    assert record.vin == "LBEHDAEB58Y038860"
    (finding,) = [f for f in record.findings if f.code != "field.missing"]
    assert (finding.code, finding.severity, finding.original, finding.repaired) == (
        "vin.repaired",
        "warning",
        "LBEHDAEB58YO3886O",
        "LBEHDAEB58Y038860",
    )


def test_vin_repair_only_when_one_plausible_reading_remains() -> None:
    # 8 read as B in the model-year position: registered 2008, "B" would mean 1981 or 2011, so the check digit is
    # not the misread character; B -> 8 there is the one reading that passes and fits.
    fixed, readings = repair("LBEHDAEB5BY038860", 2008)
    assert fixed == "LBEHDAEB58Y038860" and readings == ["LBEHDAEB58Y038860"]
    record = to_record({"vin": "LBEHDAEB5BY038860", "register_date": "2008-05-01"})
    assert record.vin == "LBEHDAEB58Y038860" and record.findings[0].code == "vin.repaired"
    # 8 read for B elsewhere: a misread check digit explains the failure as well, so nothing is applied.
    fixed, readings = repair("L8EHDAEB58Y038860", 2008)
    assert fixed is None and "LBEHDAEB58Y038860" in readings and len(readings) == 2
    # D read for the last 0: several readings pass, so none is applied.
    fixed, readings = repair("LBEHDAEB58Y03886D", 2008)
    assert fixed is None and len(readings) > 1
    ambiguous = to_record({"vin": "LBEHDAEB58Y03886D", "register_date": "2008-05-01"})
    assert ambiguous.vin == "LBEHDAEB58Y03886D" and ambiguous.findings[0].code == "vin.check_digit"
    assert "none is applied" in ambiguous.findings[0].message


def test_vin_repair_never_invents_a_model_year() -> None:
    """Registered 2008 with a wrong check digit: 8 -> B would pass the check digit but means model year 1981."""
    record = to_record({"vin": "LBEHDAEB68Y038860", "register_date": "2008-06-01"})
    assert record.vin == "LBEHDAEB68Y038860"
    assert [f.code for f in record.findings if f.field == "vin"] == ["vin.check_digit"]
    assert not record.valid


def test_vin_length_and_alphabet() -> None:
    assert rules_of(to_record({"vin": "LBEHDAEB58Y0388"})) == ["vin.length"]
    assert to_record({"vin": "LBEHDAEB5#Y038860"}).findings[0].code == "vin.alphabet"


@given(st.integers(min_value=1981, max_value=2035), st.randoms(use_true_random=False))
def test_generated_vins_pass_and_single_corruptions_are_caught(year: int, rng: object) -> None:
    vin = make_vin(rng, year)  # type: ignore[arg-type]
    assert check_digit_ok(vin)
    position = 10 + rng.randrange(7)  # type: ignore[attr-defined]
    replacement = rng.choice([c for c in "0123456789" if c != vin[position]])  # type: ignore[attr-defined]
    corrupted = vin[:position] + replacement + vin[position + 1 :]
    record = to_record({"vin": corrupted})
    repaired = [f for f in record.findings if f.code == "vin.repaired"]
    # Never silent: either flagged as a check-digit error or repaired with the original recorded.
    assert repaired or any(f.code == "vin.check_digit" for f in record.findings) or check_digit_ok(corrupted)
    for finding in repaired:
        assert finding.original == corrupted and check_digit_ok(finding.repaired or "")


# -- plates ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "plate",
    [
        "京A0006警",
        "粤E12345学",
        "粤E12345挂",
        "粤Z1234港",
        "粤Z12345澳",
        "粤ED12345",
        "粤E12345D",
        "224578使",
        "沪22478领",
        "鄂E3887K",
        "京AF12345",
    ],
)
def test_plates_accepted(plate: str) -> None:
    assert check_plate(plate).valid, check_plate(plate)


@pytest.mark.parametrize(
    "plate",
    [
        "22A578使",
        "沪2247I领",
        "粤Z0000警",
        "粤E0006港",
        "粤ED12345警",
        "京AIO123",
        "宁Z12345",
        "XA12345",
        "京A1234567",
        "京AAB1C2",
    ],
)
def test_plates_rejected(plate: str) -> None:
    assert not check_plate(plate).valid
    assert to_record({"number": plate}).findings[0].code == "plate.grammar"


def test_plate_separators_and_case() -> None:
    record = to_record({"number": "粤b·12345"})
    assert record.plate == "粤B12345" and record.plate_kind == "ordinary" and record.valid


# -- dates, masses, dimensions -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["2013-06-17", "20130617", "2013.06.17", "2013年06月17日", "2013年6月17日"])
def test_date_formats(text: str) -> None:
    assert parse_date(text) == date(2013, 6, 17)


@given(st.dates(min_value=date(1950, 1, 1), max_value=date(2099, 12, 31)))
def test_date_parser_round_trips(day: date) -> None:
    for text in (
        day.isoformat(),
        day.strftime("%Y%m%d"),
        day.strftime("%Y.%m.%d"),
        f"{day.year}年{day.month}月{day.day}日",
    ):
        assert parse_date(text) == day


@given(st.text(alphabet=string.printable + "年月日人kg×", max_size=20))
def test_parsers_never_raise(text: str) -> None:
    parse_date(text), parse_mass(text), parse_passengers(text), parse_dimension(text)
    parse_inspection_valid_until(text)


@given(st.integers(min_value=0, max_value=99_999))
def test_mass_round_trip(kg: int) -> None:
    assert parse_mass(f"{kg}kg") == kg and parse_mass(f"{kg} KG") == kg and parse_mass(str(kg)) == kg


def test_masses_dimensions_and_inspection() -> None:
    assert parse_mass("--") is None and parse_mass("") is None and parse_mass("—") is None
    assert parse_dimension("4945x1845x1480") is not None and parse_dimension("8550*2500*3510").height_mm == 3510  # type: ignore[union-attr]
    assert parse_inspection_valid_until("检验有效期至2014年02月云A(01)") == date(2014, 2, 28)
    record = to_record({"inspection_record": "检验有效期至2015年06月粤B(16)"}, as_of=date(2015, 6, 30))
    assert record.inspection_valid_until == date(2015, 6, 30) and record.inspection_expired is False
    assert to_record({"inspection_record": "检验有效期至2015年06月粤B(16)"}, as_of=date(2015, 7, 1)).inspection_expired


def test_cross_field_rules() -> None:
    findings = {
        f.code
        for f in to_record(
            {
                "register_date": "2020-05-01",
                "issue_date": "2020-04-01",
                "gross_mass": "1000kg",
                "unladen_mass": "1500kg",
                "dimension": "5000×2900×4200mm",
                "vehicle_type": "小型轿车",
                "approved_passengers": "12人",
            },
            as_of=date(2026, 1, 1),
        ).findings
    }
    assert {"dates.order", "mass.gross_below_unladen", "dimension.implausible", "passengers.implausible"} <= findings
    future = to_record({"register_date": "2030-01-01"}, as_of=date(2026, 1, 1))
    assert rules_of(future) == ["dates.future"] and not future.valid
    truck = to_record(
        {
            "gross_mass": "18000kg",
            "unladen_mass": "8000kg",
            "approved_load": "5000kg",
            "approved_passengers": "3人",
            "vehicle_type": "重型厢式货车",
        }
    )
    assert rules_of(truck) == ["mass.load_arithmetic"] and valid_but_for_missing_fields(truck)
    nev = to_record({"number": "粤BD12345", "energy_type": "汽油"})
    assert rules_of(nev) == ["plate.energy_mismatch"]
    trailer = to_record({"number": "粤E12345挂", "vehicle_type": "小型轿车"})
    assert rules_of(trailer) == ["plate.suffix_mismatch"]


def test_a_page_without_a_field_it_always_carries_is_not_valid() -> None:
    """A front page without its plate (as a cloud answer may come back) is not valid, and says what is missing;
    the back page's own required fields likewise; a complete pair has no such finding."""
    record = to_record({k: v for k, v in FRONT.items() if k != "number"}, as_of=date(2026, 1, 1))
    assert not record.valid
    assert [(f.field, f.severity) for f in record.findings if f.code == "field.missing"] == [("number", "error")]
    back = to_record({k: v for k, v in BACK.items() if k not in ("file_no", "dimension")}, as_of=date(2026, 1, 1))
    assert {f.field for f in back.findings if f.code == "field.missing"} == {"file_no", "dimension"}
    whole = to_record(merge_pages(FRONT, BACK), as_of=date(2026, 1, 1))
    assert [f for f in whole.findings if f.code == "field.missing"] == []


# -- pages, real ground truth, PII -------------------------------------------------------------------------


def test_front_back_merge_and_disagreement() -> None:
    record = to_record(merge_pages(VehicleLicenseResult(**FRONT), {"result": BACK}), as_of=date(2026, 1, 1))
    assert record.pages == ["front", "back"] and record.plate == "鄂E3887K" and record.file_no == BACK["file_no"]
    assert record.gross_mass_kg == 2170 and record.unladen_mass_kg == 1750 and record.approved_load_kg is None
    assert (record.length_mm, record.width_mm, record.height_mm) == (5000, 1858, 1493)
    other = dict(BACK, number="鄂E3887X")
    mismatch = to_record(merge_pages(FRONT, other))
    assert "plate.pages_disagree" in {f.code for f in mismatch.findings} and not mismatch.valid


def test_record_from_real_demo_ground_truth(real_samples_dir: Path) -> None:
    truth = json.loads((real_samples_dir / "ground_truth.json").read_text(encoding="utf-8"))
    entry = truth["huaweicloud_vehicle-license-demo.png"]
    record = to_record({"front": entry["front"], "back": entry["back"]}, as_of=date(2026, 11, 23))
    assert record.valid, record.findings
    assert record.register_date == date(2013, 6, 17) and record.issue_date == date(2013, 6, 18)
    assert record.approved_passengers == 5 and record.inspection_valid_until == date(2015, 6, 30)
    assert record.inspection_expired is True
    # The specimen's VIN says model year 1998 (W) for a 2013 registration: a warning, not an error.
    assert [f.code for f in record.findings] == ["vin.model_year"]
    dumped = json.loads(record.model_dump_json())
    assert dumped["valid"] is True and dumped["raw"]["gross_mass"] == "2170kg"


def test_pii_redaction() -> None:
    record = to_record(FRONT).model_dump(mode="json")
    masked = redact({"result": FRONT, "record": record}, "mask")
    assert masked["result"]["name"] == "穆**" and masked["record"]["owner_name"] == "穆**"
    assert masked["record"]["raw"]["address"].startswith("山西省") and "太原" not in masked["record"]["raw"]["address"]
    hashed = redact(FRONT, "hash", salt="s")
    assert hashed["name"].startswith("sha256:") and hashed["name"] == redact(FRONT, "hash", salt="s")["name"]
    assert redact(FRONT, "none") is FRONT
    with pytest.raises(ValueError, match="redact_pii"):
        redact(FRONT, "shred")


def test_pairing_by_plate_then_by_a_one_character_misread() -> None:
    from airflow_provider_vlocr.licence import pair_pages

    other_front = dict(FRONT, number="京A12345")
    misread_back = dict(BACK, number="鄂E3887X")  # one character from FRONT's plate
    vehicles = pair_pages(
        [
            ("b1.png", "back", BACK),
            ("f2.png", "front", other_front),
            ("f1.png", "front", FRONT),  # pairs with b1 by plate
            ("b3.png", None, misread_back),  # f1 has its matching back: b3 stays alone
        ]
    )
    assert [(v.sources, v.paired) for v in vehicles] == [
        ({"front": "f2.png"}, False),  # sorted by plate: 京A12345, 鄂E3887K, 鄂E3887X
        ({"front": "f1.png", "back": "b1.png"}, True),
        ({"back": "b3.png"}, False),
    ]
    # A lone front and a lone back whose plates differ by one character pair; the record says they disagree.
    vehicles = pair_pages([("f.png", "front", FRONT), ("b.png", "back", misread_back)])
    assert len(vehicles) == 1 and vehicles[0].sources == {"front": "f.png", "back": "b.png"}
    record = to_record(vehicles[0].combined())
    assert "plate.pages_disagree" in {f.code for f in record.findings}
    # Two backs one character away from the same front: ambiguous, so nothing pairs.
    twice = dict(BACK, number="鄂E3887Y")
    vehicles = pair_pages([("f.png", "front", FRONT), ("b.png", "back", misread_back), ("c.png", "back", twice)])
    assert [v.paired for v in vehicles] == [False, False, False]


PLATES = ("鄂E3887K", "京A12345", "沪B0C123", "粤BD12345", "豫B36766")


@given(
    st.lists(st.tuples(st.sampled_from(PLATES), st.booleans(), st.booleans()), min_size=1, max_size=8),
    st.randoms(use_true_random=False),
)
def test_pairing_does_not_depend_on_input_order(
    vehicles: list[tuple[str, bool, bool]], rng: random.Random
) -> None:
    """Shuffled pages give the same vehicles; a page never pairs with another plate while its own is there."""
    from airflow_provider_vlocr.licence import pair_pages

    pages = []
    for n, (plate, has_front, has_back) in enumerate(vehicles):
        if has_front:
            pages.append((f"v{n}_front.png", "front", dict(FRONT, number=plate)))
        if has_back:
            pages.append((f"v{n}_back.png", None, dict(BACK, number=plate)))  # side detected from its fields
    expected = [(v.plate, v.sources) for v in pair_pages(pages)]
    for _ in range(3):
        rng.shuffle(pages)
        assert [(v.plate, v.sources) for v in pair_pages(pages)] == expected
    for vehicle in pair_pages(pages):
        plates = {page.get("number") for page in vehicle.pages.values()}
        assert len(plates) == 1  # these plates are never one character apart: only exact matches pair
        if not vehicle.paired:  # alone only when no partner with its plate is left over
            mine = next(iter(vehicle.pages))
            other = "back" if mine == "front" else "front"
            lone = [v for v in pair_pages(pages) if not v.paired and v.plate == vehicle.plate and other in v.pages]
            assert lone == []
    placed = sorted(source for vehicle in pair_pages(pages) for source in vehicle.sources.values())
    assert placed == sorted(source for source, _, _ in pages)  # every page in exactly one vehicle
