"""VIN rules of GB 16735 / ISO 3779: alphabet, check digit, model year, and check-digit-gated OCR repair."""

from __future__ import annotations

import re

from .schema import VIN_LETTERS

VIN_RE = re.compile(r"^[A-HJ-NPR-Z0-9]{8}[X0-9][A-HJ-NPR-Z0-9]{8}$")
TRANSLITERATION = {
    **{str(d): d for d in range(10)},
    **dict(zip(VIN_LETTERS, [1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 7, 9, 2, 3, 4, 5, 6, 7, 8, 9],
               strict=True)),
}  # fmt: skip
WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"
# Letters never used in a VIN, read back as the digits they resemble.
FORBIDDEN = {"I": "1", "O": "0", "Q": "0"}
# Common OCR confusions, tried one substitution at a time (both directions).
CONFUSIONS = [("0", "D"), ("8", "B"), ("5", "S"), ("2", "Z"), ("6", "G"), ("1", "7")]


def check_digit(vin: str) -> str | None:
    """The expected 9th character, or ``None`` when a character has no transliteration."""
    try:
        total = sum(TRANSLITERATION[ch] * w for ch, w in zip(vin, WEIGHTS, strict=True))
    except (KeyError, ValueError):
        return None
    rest = total % 11
    return "X" if rest == 10 else str(rest)


def check_digit_ok(vin: str) -> bool:
    return len(vin) == 17 and check_digit(vin) == vin[8]


def model_years(vin: str) -> list[int]:
    """The years the 10th character can mean (30-year cycle from 1980)."""
    if len(vin) != 17 or vin[9] not in YEAR_CODES:
        return []
    index = YEAR_CODES.index(vin[9])
    return [1980 + index + 30 * cycle for cycle in range(3)]


def model_year(vin: str, register_year: int | None) -> int | None:
    """The model year closest to (and not later than) ``register_year + 1``."""
    years = model_years(vin)
    if not years:
        return None
    if register_year is None:
        return max((y for y in years if y <= 2040), default=None)
    eligible = [y for y in years if y <= register_year + 1]
    return max(eligible) if eligible else min(years)


def plausible_year(vin: str, register_year: int | None) -> bool:
    """Whether the VIN's model year fits the register year (register year -2 .. +1), or nothing says otherwise."""
    if register_year is None:
        return True
    year = model_year(vin, register_year)
    return year is not None and register_year - 2 <= year <= register_year + 1


def repair(vin: str, register_year: int | None = None) -> tuple[str | None, list[str]]:
    """A repaired VIN when exactly one plausible reading passes the check digit; else ``None``.

    Readings: I/O/Q -> 1/0/0 (never valid in a VIN); then single substitutions among the common OCR confusions.
    A reading is plausible when its model year fits ``register_year``. The check digit itself may be the misread
    character: that hypothesis counts as one more plausible reading, so a substitution is applied only when no
    other explanation fits. Returns ``(repaired or None, plausible readings)``.
    """
    if len(vin) != 17:
        return None, []
    base = "".join(FORBIDDEN.get(ch, ch) for ch in vin)
    if VIN_RE.match(base) and check_digit_ok(base):
        if base == vin:
            return None, [base]
        return (base, [base]) if plausible_year(base, register_year) else (None, [])
    passing: set[str] = set()
    for i, ch in enumerate(base):
        for a, b in CONFUSIONS:
            for src, dst in ((a, b), (b, a)):
                if ch == src:
                    candidate = base[:i] + dst + base[i + 1 :]
                    if VIN_RE.match(candidate) and check_digit_ok(candidate):
                        passing.add(candidate)
    plausible = sorted(c for c in passing if plausible_year(c, register_year))
    digit = check_digit(base)
    check_digit_misread = digit is not None and VIN_RE.match(base[:8] + digit + base[9:]) is not None
    if check_digit_misread and plausible_year(base, register_year):
        return None, [*plausible, base[:8] + str(digit) + base[9:]]
    if len(plausible) == 1:
        return plausible[0], plausible
    return None, plausible
