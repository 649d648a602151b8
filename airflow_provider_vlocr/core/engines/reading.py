"""What a local engine reads from one image, and how that becomes an API-shaped result.

:class:`LicenseReading` is everything visible in the picture (both pages if both are there, text boxes, quality
scores). :func:`shape_result` applies the request options exactly as the cloud API does: ``issuing_authority``,
``text_location`` and ``alarm_*`` only when asked, ``front``/``back`` for ``double_side``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..errors import InvalidRequestError
from ..models import (
    BACK_FIELDS,
    ELECTRONIC_FIELDS,
    FRONT_FIELDS,
    AlarmConfidence,
    AlarmResult,
    ImageQuality,
    RecognizeOptions,
    VehicleLicenseBack,
    VehicleLicenseFront,
    VehicleLicenseResult,
)

UNSUPPORTED_IMAGE_MSG = "The image is not supported or the image quality is poor."


class PageReading(BaseModel):
    """One page's field values (API formats) and, where known, each field's four corner points."""

    model_config = ConfigDict(extra="forbid")

    fields: dict[str, str] = Field(default_factory=dict)
    text_location: dict[str, list[list[int]]] = Field(default_factory=dict)
    confidence: dict[str, float] = Field(default_factory=dict)  # the reader's own evidence per field, in [0, 1]


class LicenseReading(BaseModel):
    """Everything an engine read from one image."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["normal", "electronic"] = "normal"
    front: PageReading | None = None
    back: PageReading | None = None
    color: str | None = None
    mandatory_scrapping_date: str | None = None
    status: list[str] | None = None
    alarm_result: AlarmResult | None = None
    alarm_confidence: AlarmConfidence | None = None
    quality: ImageQuality | None = None  # what the engine measured of the picture (not part of the API's result)


def _page_fields(page: PageReading, names: tuple[str, ...], options: RecognizeOptions) -> dict[str, Any]:
    out: dict[str, Any] = {k: page.fields[k] for k in names if k in page.fields}
    if not options.return_issuing_authority:
        out.pop("issuing_authority", None)
    if options.return_text_location:
        out["text_location"] = {k: v for k, v in page.text_location.items() if k in out}
    return out


def _alarm(reading: LicenseReading, options: RecognizeOptions) -> dict[str, Any]:
    """Alarm fields when asked for a paper licence; only what the engine measured, nothing made up."""
    if not options.alarm or reading.type != "normal":
        return {}
    found = {"alarm_result": reading.alarm_result, "alarm_confidence": reading.alarm_confidence}
    return {key: value for key, value in found.items() if value is not None}


def unsupported(detail: str) -> InvalidRequestError:
    """AIS.0104, the API's answer for a picture it cannot read as the requested page."""
    return InvalidRequestError(f"{UNSUPPORTED_IMAGE_MSG} ({detail})", status=400, error_code="AIS.0104")


def shape_result(reading: LicenseReading, options: RecognizeOptions) -> VehicleLicenseResult:
    """The API's ``result`` object for ``reading`` under ``options``.

    ``side`` absent means ``front``, as the API documents. For ``double_side`` the pages go to ``front`` and
    ``back`` and their fields are also merged at the top level.
    """
    if reading.type == "electronic" and not options.recognize_electronic_license:
        raise unsupported("electronic licence; set recognize_electronic_license=true")
    side = options.side or "front"
    wanted = {"front": ("front",), "back": ("back",), "double_side": ("front", "back")}[side]
    pages = {"front": reading.front, "back": reading.back}
    if side == "double_side":
        if reading.front is None and reading.back is None:
            raise unsupported("no licence page found")
    elif pages[side] is None:
        raise unsupported(f"no {side} page found")
    top: dict[str, Any] = {"type": reading.type}
    alarm = _alarm(reading, options)
    names = {"front": FRONT_FIELDS, "back": BACK_FIELDS}
    locations: dict[str, Any] = {}
    for page_name in wanted:
        page = pages[page_name]
        if page is None:
            continue
        fields = _page_fields(page, names[page_name], options)
        if side == "double_side":
            model = VehicleLicenseFront if page_name == "front" else VehicleLicenseBack
            top[page_name] = model.model_validate({**fields, **alarm})
        locations.update(fields.pop("text_location", {}))
        for key, value in fields.items():
            top.setdefault(key, value)
    if options.return_text_location:
        top["text_location"] = locations
    if reading.type == "electronic":
        for key in ELECTRONIC_FIELDS:
            value = getattr(reading, key)
            if value is not None:
                top[key] = value
    top.update(alarm)
    return VehicleLicenseResult.model_validate(top)
