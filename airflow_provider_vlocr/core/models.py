"""Pydantic v2 models of the Vehicle License OCR request and response.

Field names are the API's wire names. Result models keep unknown fields (``extra="allow"``) so a field
Huawei adds tomorrow reaches the user instead of being dropped, as the official SDK would drop it.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..licence.schema import BACK_FIELDS, BODY_OPTIONS, ELECTRONIC_FIELDS, FRONT_FIELDS, SIDES, Side

__all__ = ["BACK_FIELDS", "ELECTRONIC_FIELDS", "FRONT_FIELDS", "SIDES", "Side"]  # re-exported for callers

# Text location: field name -> four [x, y] points (top-left, top-right, bottom-right, bottom-left).
TextLocation = dict[str, Any]


class RecognizeOptions(BaseModel):
    """Every option of ``RecognizeVehicleLicense`` except the image itself."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    side: Side | None = None
    return_issuing_authority: bool | None = None
    return_text_location: bool | None = None
    recognize_electronic_license: bool | None = None
    alarm: bool | None = None
    enterprise_project_id: str | None = Field(
        default=None, description="Sent as the Enterprise-Project-Id header (billing attribution only)."
    )

    def body_fields(self) -> dict[str, Any]:
        """Body fields in the SDK's key order, leaving out what is unset."""
        return {key: getattr(self, key) for key in BODY_OPTIONS if getattr(self, key) is not None}


def request_body(*, image_b64: bytes | str | None, url: str | None, options: RecognizeOptions) -> bytes:
    """The exact JSON bytes to send: ``image`` xor ``url`` first, then the options, SDK separators.

    The base64 text is spliced in as bytes (its alphabet needs no JSON escaping): no ``json.dumps`` pass and no
    re-encoding over megabytes, byte-identical to ``json.dumps`` of the same payload."""
    if (image_b64 is None) == (url is None):
        raise ValueError("exactly one of image or url must be given")
    rest = json.dumps(options.body_fields(), ensure_ascii=False)[1:-1].encode("utf-8")
    tail = (b", " + rest if rest else b"") + b"}"
    if image_b64 is None:
        return json.dumps({"url": url}, ensure_ascii=False)[:-1].encode("utf-8") + tail
    text = image_b64.encode("ascii") if isinstance(image_b64, str) else image_b64
    return b"".join((b'{"image": "', text, b'"', tail))  # one allocation for megabytes


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class AlarmResult(_Open):
    """Quality warnings for paper licences (only with ``alarm=true``)."""

    detect_blocking_within_border_result: bool | None = None
    detect_border_integrity_result: bool | None = None


class AlarmConfidence(_Open):
    """Integer scores behind :class:`AlarmResult`; higher means a problem is more likely."""

    blocking_within_border_score: int | None = None
    border_integrity_score: int | None = None


class _FrontFields(_Open):
    """Fields printed on the main page (主页)."""

    number: str | None = None
    vehicle_type: str | None = None
    name: str | None = None
    address: str | None = None
    use_character: str | None = None
    model: str | None = None
    vin: str | None = None
    engine_no: str | None = None
    register_date: str | None = None
    issue_date: str | None = None
    issuing_authority: str | None = None


class _BackFields(_Open):
    """Fields printed on the secondary page (副页)."""

    number: str | None = None
    file_no: str | None = None
    approved_passengers: str | None = None
    gross_mass: str | None = None
    unladen_mass: str | None = None
    approved_load: str | None = None
    dimension: str | None = None
    traction_mass: str | None = None
    remarks: str | None = None
    inspection_record: str | None = None
    code_number: str | None = None
    energy_type: str | None = None


class _Extras(_Open):
    """What the API adds to a page or a result when asked (text boxes, quality warnings)."""

    text_location: TextLocation | None = None
    alarm_result: AlarmResult | None = None
    alarm_confidence: AlarmConfidence | None = None


class VehicleLicenseFront(_Extras, _FrontFields):
    """The main page, filled for ``side=double_side``."""


class VehicleLicenseBack(_Extras, _BackFields):
    """The secondary page, filled for ``side=double_side``."""


class VehicleLicenseResult(_Extras, _BackFields, _FrontFields):
    """The ``result`` object of a successful call: every field the API documents, unknown ones kept."""

    type: str | None = None
    color: str | None = None
    mandatory_scrapping_date: str | None = None
    status: list[str] | None = None
    front: VehicleLicenseFront | None = None
    back: VehicleLicenseBack | None = None

    def to_api_dict(self) -> dict[str, Any]:
        """The result as the API would send it (unset fields left out)."""
        return self.model_dump(mode="json", exclude_none=True)


class ImageQuality(BaseModel):
    """What a local engine measured of the picture it read (the cloud API reports nothing of the kind).

    ``text_height_px``: the median height of the text boxes found (the detector pads them a little);
    ``sharpness``: the strongest edges over the contrast (about 1 / the blur's width in px), informational only;
    ``flags``: ``low_resolution`` when the text is too small to trust (see ``core.engines.quality``).
    """

    model_config = ConfigDict(extra="forbid")

    width: int
    height: int
    text_height_px: float | None = None
    sharpness: float | None = None
    flags: list[str] = Field(default_factory=list)


class Escalation(BaseModel):
    """Why the hybrid engine asked Huawei Cloud about an image, and what came of it.

    ``outcome``: ``cloud`` (answered, billed), ``cloud_cached`` (a cloud answer from the cache, not billed),
    ``budget`` (the budget was spent: the offline result stands), ``cloud_error`` (the cloud refused this image:
    the offline result stands, ``error`` says why). ``doubtful_fields`` keeps the offline confidence of the fields that
    made it escalate (under the threshold), also when the cloud's answer replaced them (it carries no confidence).
    """

    model_config = ConfigDict(extra="forbid")

    reasons: list[str]
    outcome: Literal["cloud", "cloud_cached", "budget", "cloud_error"]
    error: str | None = None
    doubtful_fields: dict[str, float] = {}


class OcrResponse(BaseModel):
    """One recognised image: the result plus call metadata."""

    model_config = ConfigDict(extra="forbid")

    result: VehicleLicenseResult
    request_id: str | None = None
    engine: str = "huaweicloud"
    elapsed_ms: float | None = None
    attempts: int = 1
    cached: bool = False  # answered from the result cache: not sent, not billed
    # The page read: the side asked, or (offline and hybrid engines, side not given) the page they detected;
    # None from the cloud engine when no side was asked (the API reads a front page).
    side: Side | None = None
    # Local engines only (the cloud API returns no per-field confidence): each top-level field's confidence in
    # [0, 1], and the fields below the engine's doubt threshold. Beside the API's result, never inside it.
    field_confidence: dict[str, float] = Field(default_factory=dict)
    doubtful_fields: list[str] = Field(default_factory=list)
    image_quality: ImageQuality | None = None  # local engines: the picture's size, text height, flags
    # Engines that bill per call rather than per engine (hybrid): whether this answer was billed (None: as the
    # engine's ``billed`` says), which engine produced each field, and why the image escalated to the cloud.
    billed: bool | None = None
    field_engines: dict[str, str] = Field(default_factory=dict)
    escalation: Escalation | None = None
