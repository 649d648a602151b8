"""Build a :class:`VehicleRecord` from a recognition result: normalise, repair (never silently), validate."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from pydantic import BaseModel

from .normalise import (
    normalise_plate,
    normalise_vin,
    parse_date,
    parse_dimension,
    parse_inspection_valid_until,
    parse_mass,
    parse_passengers,
)
from .plates import battery_electric, check_plate
from .record import Finding, Severity, VehicleRecord
from .schema import BACK_FIELDS, FRONT_FIELDS, REQUIRED_FIELDS
from .vin import VIN_RE, check_digit, check_digit_ok, model_year, repair

FRONT_KEYS = FRONT_FIELDS
BACK_KEYS = BACK_FIELDS
SMALL_PASSENGER_TYPES = ("小型轿车", "小型普通客车", "小型越野客车", "微型轿车", "小型专用客车")
FUEL_ONLY = ("汽油", "柴油", "天然气", "液化石油气")
ELECTRIC = ("纯电动", "插电式混合动力", "燃料电池", "增程式")
MIN_PLAUSIBLE_YEAR = 1950
MAX_WIDTH_MM, MAX_HEIGHT_MM = 2550, 4000
DRIVER_MASS_KG = 65


def _as_dict(result: Any) -> dict[str, Any]:
    """A result model, an :class:`OcrResponse`, an XCom item (``{"result": ...}``) or a plain dict."""
    if isinstance(result, BaseModel):
        data = result.model_dump(mode="json", exclude_none=True)
    elif isinstance(result, Mapping):
        data = dict(result)
    else:
        raise TypeError(f"cannot build a record from {type(result).__name__}")
    if "result" in data and isinstance(data["result"], Mapping):
        data = dict(data["result"])
    return data


def flatten_pages(data: Mapping[str, Any]) -> tuple[dict[str, Any], list[str], list[Finding]]:
    """Merge top-level fields with ``front``/``back`` sub-objects; a finding when the pages disagree."""
    flat = {k: v for k, v in data.items() if k not in ("front", "back", "text_location", "alarm_result",
                                                       "alarm_confidence")}  # fmt: skip
    pages: list[str] = []
    findings: list[Finding] = []
    front, back = data.get("front") or {}, data.get("back") or {}
    for name, page, keys in (("front", front, FRONT_KEYS), ("back", back, BACK_KEYS)):
        if page:
            pages.append(name)
            for key in keys:
                if page.get(key) is not None:
                    flat.setdefault(key, page[key])
    if not pages:
        if any(flat.get(k) for k in FRONT_KEYS if k != "number"):
            pages.append("front")
        if any(flat.get(k) for k in BACK_KEYS if k != "number"):
            pages.append("back")
    if front.get("number") and back.get("number"):
        a, b = normalise_plate(front["number"]), normalise_plate(back["number"])
        if a != b:
            findings.append(
                Finding(
                    field="number",
                    code="plate.pages_disagree",
                    severity="error",
                    message=f"front page plate {a} differs from back page plate {b}",
                )
            )
    return flat, pages, findings


def merge_pages(front: Any, back: Any) -> dict[str, Any]:
    """Two results of the same vehicle (separate images) as one ``double_side``-shaped result."""
    return {"front": _as_dict(front), "back": _as_dict(back)}


def to_record(result: Any, *, as_of: date | None = None) -> VehicleRecord:
    """Normalise and validate one result (front, back or both pages) of either engine. An XCom item or an
    :class:`OcrResponse` also brings its per-field confidence and doubtful fields (local engines)."""
    flat, pages, findings = flatten_pages(_as_dict(result))
    rules = _Rules(flat, findings, as_of or date.today())
    record = rules.build(pages)
    confidence, doubtful = confidence_of(result)
    return record.model_copy(update={"field_confidence": confidence, "doubtful_fields": doubtful})


def confidence_of(item: Any) -> tuple[dict[str, float], list[str]]:
    """``field_confidence`` and ``doubtful_fields`` of an item or a response (empty for cloud results)."""
    if isinstance(item, BaseModel):
        item = {k: getattr(item, k, None) for k in ("field_confidence", "doubtful_fields")}
    if not isinstance(item, Mapping):
        return {}, []
    return dict(item.get("field_confidence") or {}), list(item.get("doubtful_fields") or [])


class _Rules:
    """The rules of ``shared/docs/validation-rules.md``, each adding findings."""

    def __init__(self, raw: dict[str, Any], findings: list[Finding], as_of: date) -> None:
        self.raw = raw
        self.findings = findings
        self.as_of = as_of

    def add(self, field: str, code: str, severity: Severity, message: str, **extra: Any) -> None:
        self.findings.append(Finding(field=field, code=code, severity=severity, message=message, **extra))

    def text(self, key: str) -> str | None:
        value = self.raw.get(key)
        return None if value is None else str(value).strip()

    def build(self, pages: list[str]) -> VehicleRecord:
        register, issue = self.date_field("register_date"), self.date_field("issue_date")
        vin, year = self.vin(register)
        plate, kind = self.plate()
        passengers = self.number_field("approved_passengers", parse_passengers, "passengers.format")
        masses = {k: self.number_field(k, parse_mass, "mass.format") for k in
                  ("gross_mass", "unladen_mass", "approved_load", "traction_mass")}  # fmt: skip
        dimension = self.dimension()
        valid_until = parse_inspection_valid_until(self.text("inspection_record"))
        scrapping = self.date_field("mandatory_scrapping_date")
        self.dates(register, issue, valid_until, scrapping)
        self.masses(masses, passengers)
        self.consistency(plate, kind, passengers)
        self.required(pages)
        status = self.raw.get("status")
        return VehicleRecord(
            raw=dict(self.raw),
            pages=pages,
            license_type=self.text("type"),
            plate=plate,
            plate_kind=kind,
            vin=vin,
            vin_model_year=year,
            vehicle_type=self.text("vehicle_type"),
            owner_name=self.text("name"),
            owner_address=self.text("address"),
            use_character=self.text("use_character"),
            model=self.text("model"),
            engine_no=(self.text("engine_no") or "").replace(" ", "").upper() or None,
            register_date=register,
            issue_date=issue,
            issuing_authority=self.text("issuing_authority"),
            file_no=self.text("file_no"),
            approved_passengers=passengers,
            gross_mass_kg=masses["gross_mass"],
            unladen_mass_kg=masses["unladen_mass"],
            approved_load_kg=masses["approved_load"],
            traction_mass_kg=masses["traction_mass"],
            length_mm=dimension.length_mm if dimension else None,
            width_mm=dimension.width_mm if dimension else None,
            height_mm=dimension.height_mm if dimension else None,
            remarks=self.text("remarks"),
            inspection_record=self.text("inspection_record"),
            inspection_valid_until=valid_until,
            inspection_expired=None if valid_until is None else valid_until < self.as_of,
            code_number=(self.text("code_number") or "").strip("*") or None,
            energy_type=self.text("energy_type"),
            color=self.text("color"),
            mandatory_scrapping_date=scrapping,
            status=list(status) if isinstance(status, list) else None,
            as_of=self.as_of,
            findings=self.findings,
        )

    def required(self, pages: list[str]) -> None:
        """Every field the pages read always carry (``REQUIRED_FIELDS``): an error-level finding for each one
        missing, so a record without its plate is never valid."""
        wanted = [name for page in pages for name in REQUIRED_FIELDS.get(page, ())]
        for name in dict.fromkeys(wanted):
            if not self.text(name):
                self.add(name, "field.missing", "error", f"{name} is missing: every {'/'.join(pages)} page has one")

    # -- typed values ------------------------------------------------------------------------------------
    def date_field(self, key: str) -> date | None:
        text = self.text(key)
        if not text:
            return None
        value = parse_date(text)
        if value is None:
            self.add(key, "date.format", "error", f"{key} {text!r} is not a date (YYYY-MM-DD, YYYYMMDD, ...)")
        return value

    def number_field(self, key: str, parse: Any, code: str) -> int | None:
        text = self.text(key)
        value = parse(text)
        if value is None and text and text not in ("--", "-", "—", "/"):
            self.add(key, code, "error", f"{key} {text!r} cannot be read as a number")
        return value

    def dimension(self) -> Any:
        text = self.text("dimension")
        value = parse_dimension(text)
        if text and value is None:
            self.add("dimension", "dimension.format", "error", f"dimension {text!r} is not L×W×H in mm")
        if value and (value.width_mm > MAX_WIDTH_MM or value.height_mm > MAX_HEIGHT_MM):
            self.add(
                "dimension",
                "dimension.implausible",
                "warning",
                f"{value.width_mm} mm wide / {value.height_mm} mm high exceeds the usual road limits "
                f"({MAX_WIDTH_MM}/{MAX_HEIGHT_MM} mm)",
            )
        return value

    def vin(self, register: date | None) -> tuple[str | None, int | None]:
        vin = normalise_vin(self.text("vin"))
        if vin is None:
            return None, None
        if len(vin) != 17:
            self.add("vin", "vin.length", "error", f"VIN {vin} has {len(vin)} characters, not 17")
            return vin, None
        if not (VIN_RE.match(vin) and check_digit_ok(vin)):
            fixed, candidates = repair(vin, register.year if register else None)
            if fixed is not None:
                self.add(
                    "vin",
                    "vin.repaired",
                    "warning",
                    f"VIN {vin} repaired to {fixed}: the only plausible reading that passes the check digit",
                    original=vin,
                    repaired=fixed,
                )
                vin = fixed
            elif not VIN_RE.match(vin):
                bad = sorted({c for c in vin if c in "IOQ" or not c.isalnum()})
                self.add(
                    "vin",
                    "vin.alphabet",
                    "error",
                    f"VIN {vin} uses characters a VIN never has ({', '.join(bad) or 'position 9'})",
                )
            else:
                more = f"; plausible readings {', '.join(candidates)}: none is applied" if candidates else ""
                self.add(
                    "vin",
                    "vin.check_digit",
                    "error",
                    f"VIN {vin} fails its check digit (position 9 is {vin[8]}, expected {check_digit(vin)}){more}",
                )
        year = model_year(vin, register.year if register else None)
        if register and year is not None and not register.year - 2 <= year <= register.year + 1:
            self.add(
                "vin",
                "vin.model_year",
                "warning",
                f"VIN model year {year} is far from the register year {register.year}",
            )
        return vin, year

    def plate(self) -> tuple[str | None, str | None]:
        plate = normalise_plate(self.text("number"))
        if plate is None:
            return None, None
        check = check_plate(plate)
        if not check.valid:
            self.add("number", "plate.grammar", "error", f"plate {plate}: {check.reason}")
        return plate, check.kind

    # -- cross-field rules -------------------------------------------------------------------------------
    def dates(
        self, register: date | None, issue: date | None, valid_until: date | None, scrapping: date | None
    ) -> None:
        if register and issue and register > issue:
            self.add("issue_date", "dates.order", "error", f"issue date {issue} is before register date {register}")
        for key, value in (("register_date", register), ("issue_date", issue)):
            if value and value > self.as_of:
                self.add(key, "dates.future", "error", f"{key} {value} is after {self.as_of}")
            if value and value.year < MIN_PLAUSIBLE_YEAR:
                self.add(key, "dates.implausible", "warning", f"{key} {value} is before {MIN_PLAUSIBLE_YEAR}")
        if valid_until and register and (valid_until.year, valid_until.month) < (register.year, register.month):
            self.add(
                "inspection_record",
                "inspection.before_register",
                "warning",
                f"inspection valid until {valid_until:%Y-%m} is before registration {register:%Y-%m}",
            )
        if scrapping and register and scrapping <= register:
            self.add(
                "mandatory_scrapping_date",
                "dates.scrapping_order",
                "warning",
                f"mandatory scrapping date {scrapping} is not after register date {register}",
            )

    def masses(self, masses: dict[str, int | None], passengers: int | None) -> None:
        gross, unladen, load = masses["gross_mass"], masses["unladen_mass"], masses["approved_load"]
        if gross is not None and unladen is not None and gross < unladen:
            self.add(
                "gross_mass",
                "mass.gross_below_unladen",
                "error",
                f"gross mass {gross} kg is below the unladen mass {unladen} kg",
            )
        if gross is not None and unladen is not None and load is not None and passengers:
            expected = gross - unladen - DRIVER_MASS_KG * passengers
            if abs(load - expected) > max(100, 0.05 * gross):
                self.add(
                    "approved_load",
                    "mass.load_arithmetic",
                    "warning",
                    f"approved load {load} kg is far from gross - unladen - 65 kg x {passengers} = {expected} kg",
                )
        vehicle_type = self.text("vehicle_type") or ""
        if masses["traction_mass"] is not None and vehicle_type and "牵引" not in vehicle_type:
            self.add(
                "traction_mass",
                "mass.traction_not_tractor",
                "warning",
                f"traction mass on a {vehicle_type}, which is not a tractor",
            )
        if gross is not None and not 100 <= gross <= 100_000:
            self.add("gross_mass", "mass.implausible", "warning", f"gross mass {gross} kg is implausible")

    def consistency(self, plate: str | None, kind: str | None, passengers: int | None) -> None:
        vehicle_type = self.text("vehicle_type") or ""
        use = self.text("use_character") or ""
        if passengers is not None and vehicle_type in SMALL_PASSENGER_TYPES and passengers > 9:
            self.add(
                "approved_passengers",
                "passengers.implausible",
                "warning",
                f"{passengers} persons in a {vehicle_type} (at most 9)",
            )
        energy = self.text("energy_type")
        if plate and kind and energy:
            check = check_plate(plate)
            if check.new_energy and any(f in energy for f in FUEL_ONLY) and not any(e in energy for e in ELECTRIC):
                self.add(
                    "number",
                    "plate.energy_mismatch",
                    "warning",
                    f"new-energy plate {plate} on a vehicle whose energy type is {energy}",
                )
            elif not check.new_energy and energy.startswith("纯电动"):
                self.add(
                    "number",
                    "plate.energy_mismatch",
                    "warning",
                    f"ordinary plate {plate} on a battery-electric vehicle",
                )
            elif battery_electric(check, plate) is True and "电" not in energy:
                self.add(
                    "number",
                    "plate.energy_mismatch",
                    "warning",
                    f"battery-electric plate letter on a vehicle whose energy type is {energy}",
                )
        if plate and kind:
            for suffix, word, field, value in (("挂", "挂车", "vehicle_type", vehicle_type),
                                               ("学", "教练", "use_character", use),
                                               ("警", "警用", "use_character", use)):  # fmt: skip
                if value and (kind == f"suffix-{suffix}") != (word in value):
                    self.add(
                        field,
                        "plate.suffix_mismatch",
                        "warning",
                        f"plate {plate} and {field} {value!r} disagree about {word}",
                    )
