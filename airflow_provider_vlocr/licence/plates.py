"""Plate grammar of GA 36-2018: province and authority letter, ordinary, new-energy, suffix, 粤Z 港/澳, embassy
and consulate plates."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .schema import PROVINCE_ABBREVIATIONS

PROVINCES = PROVINCE_ABBREVIATIONS
_ALL = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
AUTHORITIES: dict[str, str] = {
    "京": _ALL, "津": _ALL, "沪": _ALL, "渝": _ALL,
    "冀": "ABCDEFGHJRT", "晋": "ABCDEFHJKLM", "蒙": "ABCDEFGHJKLM", "辽": "ABCDEFGHJKLMNP", "吉": "ABCDEFGHJK",
    "黑": "ALBCDEFGHJKMNPR", "苏": "ABCDEFGHJKLMN", "浙": "ABCDEFGHJKL", "皖": "ABCDEFGHJKLMNPRS",
    "闽": "AKBCDEFGHJ", "赣": "AMBCDEFGHJKL", "鲁": "ABUCDEFYGVHJKLMNPQRSW", "豫": "ABCDEFGHJKLMNPQRSU",
    "鄂": "ABCDEFGHJKLMNPQRS", "湘": "ASBCDEFGHJKLMNU", "粤": "ABCDEXYFGHJKLMNPQRSTUVWZ", "桂": "ABCHDEFGJKLMNPR",
    "琼": "ABCDEF", "川": "AGBCDEFHJKLMQRSTUVWXYZ", "贵": "ABCDEFGHJ", "云": "ACDEFGHJKLMNPQRS", "藏": "ABCDEFG",
    "陕": "ABCDEFGHJKV", "甘": "ABCDEFGHJKLMNP", "青": "ABCDEFGH", "宁": "ABCE", "新": "ABCEDFGHJKLMNPQR",
}  # fmt: skip
NEV_BATTERY = "DABCE"
NEV_OTHER = "FGHJK"
SUFFIXES = "警学挂试超"
SEQ = "A-HJ-NP-Z0-9"  # digits and letters except I and O


@dataclass(frozen=True)
class PlateCheck:
    """``kind`` when the plate is valid (ordinary, new-energy-small, ...), else the reason it is not."""

    valid: bool
    kind: str | None = None
    reason: str | None = None

    @property
    def new_energy(self) -> bool:
        return bool(self.kind and self.kind.startswith("new-energy"))


def _bad(reason: str) -> PlateCheck:
    return PlateCheck(False, reason=reason)


def check_plate(plate: str) -> PlateCheck:
    """Validate a normalised plate (no separators, upper case)."""
    if re.fullmatch(r"[0-9]{6}使", plate):
        return PlateCheck(True, "embassy")
    if not plate or plate[0] not in PROVINCES:
        return _bad(f"first character {plate[:1]!r} is not a province abbreviation")
    if re.fullmatch(f"[{PROVINCES}][0-9]{{4}}[0-9A-HJ-NP-Z]领", plate):
        return PlateCheck(True, "consulate")
    if len(plate) < 2 or plate[1] not in AUTHORITIES[plate[0]] + "O":
        return _bad(f"authority letter {plate[1:2]!r} is not issued in {plate[0]}")
    sequence = plate[2:]
    if plate.startswith("粤Z"):
        if re.fullmatch(f"[{SEQ}]{{4,5}}[港澳]", sequence):
            return PlateCheck(True, "hong-kong-macau")
        return _bad("粤Z plates must end in 港 or 澳")
    if sequence[-1:] in "港澳":
        return _bad("港/澳 plates are only issued as 粤Z")
    if sequence[-1:] in SUFFIXES:
        if re.fullmatch(f"[{SEQ}]{{4,5}}", sequence[:-1]) and _letters(sequence[:-1]) <= 2:
            return PlateCheck(True, f"suffix-{sequence[-1]}")
        return _bad(f"a {sequence[-1]} plate needs 4-5 characters before the suffix")
    if len(sequence) == 5:
        if re.fullmatch(f"[{SEQ}]{{5}}", sequence) and _letters(sequence) <= 2:
            return PlateCheck(True, "ordinary")
        return _bad("an ordinary sequence has 5 digits/letters (no I or O), at most 2 letters")
    if len(sequence) == 6:
        if re.fullmatch(f"[{NEV_BATTERY}{NEV_OTHER}][{SEQ}][0-9]{{4}}", sequence):
            return PlateCheck(True, "new-energy-small")
        if re.fullmatch(f"[0-9]{{5}}[{NEV_BATTERY}{NEV_OTHER}]", sequence):
            return PlateCheck(True, "new-energy-large")
        return _bad("a 6-character (new-energy) sequence does not follow GA 36-2018")
    return _bad(f"sequence of {len(sequence)} characters (expected 5, or 6 for new-energy)")


def _letters(sequence: str) -> int:
    return sum(ch.isalpha() for ch in sequence)


def battery_electric(check: PlateCheck, plate: str) -> bool | None:
    """For new-energy plates: whether the letter says battery-electric (D/A/B/C/E) or not (F/G/H/J/K)."""
    if check.kind == "new-energy-small":
        return plate[2] in NEV_BATTERY
    if check.kind == "new-energy-large":
        return plate[-1] in NEV_BATTERY
    return None
