"""The validated record: every raw string kept, typed values beside them, machine-readable findings."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

Severity = Literal["error", "warning"]


class Finding(BaseModel):
    """One validation result: which field, what rule, how bad, in words."""

    model_config = ConfigDict(extra="forbid")

    field: str
    code: str
    severity: Severity
    message: str
    original: str | None = None
    repaired: str | None = None


class VehicleRecord(BaseModel):
    """A licence as typed, validated data. ``raw`` holds the strings exactly as recognised."""

    model_config = ConfigDict(extra="forbid")

    raw: dict[str, Any] = Field(default_factory=dict)
    pages: list[str] = Field(default_factory=list)
    license_type: str | None = None
    plate: str | None = None
    plate_kind: str | None = None
    vin: str | None = None
    vin_model_year: int | None = None
    vehicle_type: str | None = None
    owner_name: str | None = None
    owner_address: str | None = None
    use_character: str | None = None
    model: str | None = None
    engine_no: str | None = None
    register_date: date | None = None
    issue_date: date | None = None
    issuing_authority: str | None = None
    file_no: str | None = None
    approved_passengers: int | None = None
    gross_mass_kg: int | None = None
    unladen_mass_kg: int | None = None
    approved_load_kg: int | None = None
    traction_mass_kg: int | None = None
    length_mm: int | None = None
    width_mm: int | None = None
    height_mm: int | None = None
    remarks: str | None = None
    inspection_record: str | None = None
    inspection_valid_until: date | None = None
    inspection_expired: bool | None = None
    code_number: str | None = None
    energy_type: str | None = None
    color: str | None = None
    mandatory_scrapping_date: date | None = None
    status: list[str] | None = None
    as_of: date | None = None
    findings: list[Finding] = Field(default_factory=list)
    field_confidence: dict[str, float] = Field(default_factory=dict)  # local engines: the reader's confidence
    doubtful_fields: list[str] = Field(default_factory=list)  # fields under the engine's doubt threshold

    @computed_field  # type: ignore[prop-decorator]
    @property
    def valid(self) -> bool:
        """No error-level finding."""
        return not any(f.severity == "error" for f in self.findings)

    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]
