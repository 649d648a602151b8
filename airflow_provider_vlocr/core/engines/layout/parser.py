"""The whole parser: OCR boxes -> a :class:`LicenseReading`, with seal completion."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ....licence.schema import ABBREVIATION_OF_PROVINCE, PROVINCE_NAMES
from ..reading import LicenseReading
from .fields import read_card
from .geometry import make_boxes
from .labels import split_cards

PROVINCES = PROVINCE_NAMES


ABBREVIATIONS = ABBREVIATION_OF_PROVINCE


def complete_seal(seal: str, hints: str) -> str:
    """Restore a seal whose first character (on the stamp's border) was not read: ``东省深圳…`` -> ``广东省深圳…``.

    Only when the text starts with a province name missing its first character; an ambiguous case (广东/山东) is
    settled by a province abbreviation printed elsewhere on the licence (``hints``: plate, inspection record).
    """
    if not seal or any(seal.startswith(p) for p in PROVINCES):
        return seal
    candidates = [p for p in PROVINCES if seal.startswith(p[1:])]
    if len(candidates) > 1:
        candidates = [p for p in candidates if ABBREVIATIONS[p] in hints]
    return candidates[0][0] + seal if len(candidates) == 1 else seal


def parse_boxes(raw: Iterable[Sequence[Any]]) -> LicenseReading:
    """The whole parser: OCR boxes -> pages read (``(quad, text, score)``, per-character scores optional)."""
    boxes = make_boxes(raw)
    reading = LicenseReading()
    for card in split_cards(boxes):
        for box in card.boxes:
            box.used = False
        page = read_card(card)
        if card.side == "front":
            reading.front = page
        else:
            reading.back = page
    if reading.front is not None and "issuing_authority" in reading.front.fields:
        hints = "".join(
            p.fields.get(k, "") for p in (reading.front, reading.back) if p for k in ("number", "inspection_record")
        )
        reading.front.fields["issuing_authority"] = complete_seal(reading.front.fields["issuing_authority"], hints)
    return reading


def label_count(reading: LicenseReading) -> int:
    """How many fields were read with a value (to compare orientations of a picture)."""
    return sum(1 for p in (reading.front, reading.back) if p is not None for v in p.fields.values() if v)
