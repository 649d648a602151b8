"""Parsers from the licence's printed strings to typed values (ISO dates, int kg, mm, persons)."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from .schema import PLATE_SEPARATORS

NOT_APPLICABLE = {"", "--", "-", "—", "——", "/", "无", "－－"}
_DATE = re.compile(r"^\s*(\d{4})\s*[-./年]?\s*(\d{1,2})\s*[-./月]?\s*(\d{1,2})\s*日?\s*$")
_MASS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(kg|KG|Kg|千克)?\s*$")
_PASSENGERS = re.compile(r"^\s*(\d{1,3})\s*人?\s*$")
_DIMENSION = re.compile(r"^\s*(\d{3,5})\s*[×xX*]\s*(\d{3,4})\s*[×xX*]\s*(\d{3,4})\s*(mm|毫米)?\s*$")
_INSPECTION = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月")


def parse_date(text: str | None) -> date | None:
    """``YYYY-MM-DD``, ``YYYYMMDD``, ``YYYY.MM.DD`` or ``YYYY年MM月DD日``; ``None`` when empty or invalid."""
    if not text:
        return None
    match = _DATE.match(text)
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def parse_mass(text: str | None) -> int | None:
    """``2170kg`` -> 2170; ``--``/empty -> ``None``."""
    if text is None or text.strip() in NOT_APPLICABLE:
        return None
    match = _MASS.match(text)
    return round(float(match.group(1))) if match else None


def parse_passengers(text: str | None) -> int | None:
    match = _PASSENGERS.match(text or "")
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class Dimensions:
    length_mm: int
    width_mm: int
    height_mm: int


def parse_dimension(text: str | None) -> Dimensions | None:
    """``5000×1858×1493mm`` (also ``x``, ``X``, ``*``, ``毫米``)."""
    match = _DIMENSION.match(text or "")
    if not match:
        return None
    return Dimensions(int(match.group(1)), int(match.group(2)), int(match.group(3)))


def normalise_plate(text: str | None) -> str | None:
    """Without separators, upper-cased: ``粤B·12345`` -> ``粤B12345``."""
    if not text:
        return None
    return PLATE_SEPARATORS.sub("", text).upper() or None


def normalise_vin(text: str | None) -> str | None:
    if not text:
        return None
    return re.sub(r"\s", "", text).upper() or None


def parse_inspection_valid_until(text: str | None) -> date | None:
    """``检验有效期至2015年06月粤B(16)`` -> 2015-06-30 (the last day of that month)."""
    match = _INSPECTION.search(text or "")
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        return None
    return date(year, month, calendar.monthrange(year, month)[1])
