"""Per-field confidence of a local reading: the reader's evidence checked by the licence's own rules.

A field's confidence in [0, 1] is the parser's evidence (how the value was found, times the OCR scores of its
boxes) times a factor for every rule it breaks: its format (date, plate, VIN alphabet, digits, masses), and the
cross-field rules of :mod:`airflow_provider_vlocr.licence.rules` (VIN check digit and model year, plate grammar and
pages, date order, mass arithmetic). Fields below :data:`DOUBTFUL_BELOW` are listed as doubtful: the ones to send to a
human or to the cloud. The threshold is chosen on the accuracy benchmark (``benchmarks/accuracy.py`` prints the
trade-off), not on the hold-out seed.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from ...licence.rules import to_record
from ...licence.schema import DOUBTFUL_BELOW, PROVINCE_ABBREVIATIONS, PROVINCE_NAMES, USE_CHARACTERS, VEHICLE_TYPES
from ..models import BACK_FIELDS, FRONT_FIELDS, RecognizeOptions, VehicleLicenseResult
from .reading import LicenseReading

EXPECTED_FRONT = tuple(n for n in FRONT_FIELDS if n != "issuing_authority")
EXPECTED_BACK = tuple(n for n in BACK_FIELDS if n != "energy_type")
# Finding code -> (fields it casts doubt on; None: the finding's own field, factor).
RULE_FACTORS: dict[str, tuple[tuple[str, ...] | None, float]] = {
    "vin.length": (None, 0.1),
    "vin.alphabet": (None, 0.1),
    "vin.check_digit": (None, 0.2),
    "vin.repaired": (("vin",), 0.2),
    # Weak: a misread year character breaks the check digit too (0.2 then); with the check digit holding, the year
    # code and the register date disagree on real cards (Huawei's specimen: a 1998 code, registered 2013).
    "vin.model_year": (("vin",), 0.95),
    "plate.grammar": (None, 0.2),
    "plate.pages_disagree": (("number",), 0.3),
    "plate.suffix_mismatch": (("number", "vehicle_type"), 0.7),
    "plate.energy_mismatch": (("number",), 0.7),
    "date.format": (None, 0.1),
    "dates.order": (("register_date", "issue_date"), 0.4),
    "dates.future": (None, 0.4),
    "dates.implausible": (None, 0.4),
    "inspection.before_register": (("inspection_record", "register_date"), 0.6),
    "dimension.format": (None, 0.1),
    "dimension.implausible": (None, 0.5),
    "mass.gross_below_unladen": (("gross_mass", "unladen_mass"), 0.4),
    "mass.load_arithmetic": (("gross_mass", "unladen_mass", "approved_load"), 0.5),
    "mass.implausible": (None, 0.5),
    "mass.traction_not_tractor": (("traction_mass", "vehicle_type"), 0.6),
    "passengers.implausible": (None, 0.5),
}
CJK = r"[\u4e00-\u9fff]"
AUTHORITY_ENDINGS = "公安局交通警察[总支大]?队|公安局交通警察局|交通管理局|交通管理[总支大]队|车辆管理(?:分)?所"
FORMATS: dict[str, str] = {  # what a well-read value looks like (beyond the record rules)
    "name": rf"{CJK}[\u4e00-\u9fff·()（）A-Za-z0-9]{{1,40}}",
    "address": rf"{CJK}.{{5,}}",
    "vehicle_type": rf"{CJK}{{2,12}}",
    "use_character": rf"{CJK}{{2,12}}",
    "model": rf"{CJK}+牌.+",
    "engine_no": r"[A-Z0-9]{5,20}",
    "file_no": r"\d{10,15}",
    "code_number": r"\d{13}",
    "approved_passengers": r"\d{1,3}人",
    "inspection_record": rf"检验有效期至\d{{4}}年\d{{2}}月[{PROVINCE_ABBREVIATIONS}][A-Z]\(\d{{1,3}}\)",
    "remarks": rf".*{CJK}.*",
    # Starts with the province's full name, ends as a traffic police or vehicle office does (a dropped character:
    # "…公安局交警察支队")
    "issuing_authority": rf"(?:{'|'.join(PROVINCE_NAMES)}){CJK}{{2,}}(?:{AUTHORITY_ENDINGS})",
}
FORMAT_FACTOR = 0.5
KNOWN_VALUES = {"vehicle_type": VEHICLE_TYPES, "use_character": frozenset(USE_CHARACTERS)}
UNKNOWN_VALUE_FACTOR = 0.7  # a type or use character outside the known values: a misread character, or a rare one
EMPTY_FACTOR = 0.2  # a field with a label but no value read (remarks and masses may be blank: see the reader)
BLANK_ALLOWED = {"remarks", "approved_load", "traction_mass"}


def field_confidence(
    result: VehicleLicenseResult, reading: LicenseReading, options: RecognizeOptions
) -> dict[str, float]:
    """Confidence of each field the result holds (top level; a field on both pages takes the lower). Empty when
    the reader reports no evidence at all (an engine replaying known answers)."""
    if not any(page is not None and page.confidence for page in (reading.front, reading.back)):
        return {}
    evidence: dict[str, float] = {}
    for page in (reading.front, reading.back):
        if page is None:
            continue
        for name, value in page.confidence.items():
            evidence[name] = min(value, evidence.get(name, 1.0))
    data = result.to_api_dict()
    flat: dict[str, Any] = {}
    for part in (data, data.get("front") or {}, data.get("back") or {}):
        for name in (*FRONT_FIELDS, *BACK_FIELDS):
            if isinstance(part.get(name), str):
                flat.setdefault(name, part[name])
    scores = {name: evidence.get(name, 0.5) for name in flat}
    for name, value in flat.items():
        if not value.strip() and name not in BLANK_ALLOWED:
            scores[name] *= EMPTY_FACTOR
        elif name in FORMATS and value.strip() and not re.fullmatch(FORMATS[name], value):
            scores[name] *= FORMAT_FACTOR
        elif name in KNOWN_VALUES and value not in KNOWN_VALUES[name]:
            scores[name] *= UNKNOWN_VALUE_FACTOR
    _blank_masses(flat, scores)
    for finding in to_record(data, as_of=date.today()).findings:
        fields, factor = RULE_FACTORS.get(finding.code, (None, 1.0))
        for name in fields or (finding.field,):
            if name in scores:
                scores[name] *= factor
    for name in expected_fields(reading, options):
        if name not in flat:
            scores[name] = 0.0  # a field the page holds that was not read at all
    return {name: round(min(1.0, max(0.0, score)), 3) for name, score in scores.items()}


def reading_incomplete(reading: LicenseReading) -> bool:
    """Whether a reader's own reading lacks a field its pages always hold: a cheap sign that another look at the
    picture may read more."""
    for page, expected in ((reading.front, EXPECTED_FRONT), (reading.back, EXPECTED_BACK)):
        if page is not None and any(not page.fields.get(name) for name in expected if name not in BLANK_ALLOWED):
            return True
    return False


def expected_fields(reading: LicenseReading, options: RecognizeOptions) -> list[str]:
    """The fields the pages asked for hold on a paper licence (the issuing authority when asked)."""
    if reading.type != "normal":
        return []
    side = options.side or "front"
    names: list[str] = []
    if side in ("front", "double_side") and reading.front is not None:
        names += EXPECTED_FRONT + (("issuing_authority",) if options.return_issuing_authority else ())
    if side in ("back", "double_side") and reading.back is not None:
        names += [n for n in EXPECTED_BACK if n not in names]
    return names


def _blank_masses(flat: dict[str, Any], scores: dict[str, float]) -> None:
    """A mass printed blank (``--``) is expected on a car and suspicious on a truck: judged by the other masses."""

    def kg(name: str) -> int | None:
        digits = re.fullmatch(r"(\d+)kg", flat.get(name) or "")
        return int(digits.group(1)) if digits else None

    gross, unladen = kg("gross_mass"), kg("unladen_mass")
    passengers = re.match(r"\d+", flat.get("approved_passengers") or "")
    if flat.get("approved_load") == "--" and gross and unladen and passengers:
        spare = gross - unladen - 65 * int(passengers.group(0))
        scores["approved_load"] = 0.95 if spare < 1000 else 0.3
    if flat.get("traction_mass") == "--":
        scores["traction_mass"] = 0.3 if "牵引" in (flat.get("vehicle_type") or "") else 0.9


def doubtful(confidence: dict[str, float], below: float = DOUBTFUL_BELOW) -> list[str]:
    """Fields whose confidence is under ``below``, in the order given."""
    return [name for name, value in confidence.items() if value < below]
