"""Per-field clean-up of values into the API's formats (plate, VIN, dates, masses, dimension …)."""

from __future__ import annotations

import re
from collections.abc import Callable

from ....licence.plates import check_plate
from ....licence.schema import PLATE_SEPARATORS, PROVINCE_ABBREVIATIONS, VIN_ALPHABET
from .labels import english_label_at

PROVINCE_CHARS = PROVINCE_ABBREVIATIONS


VIN_ALLOWED = VIN_ALPHABET


# -- per-field clean-up ---------------------------------------------------------------------------------
DIGIT_FIX = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "I": "1", "l": "1", "|": "1", "Z": "2",
                           "S": "5", "B": "8", "G": "6"})  # fmt: skip


def _plate_shape(province: str, rest: str) -> str:
    """Province + authority letter (0 read for O) + sequence (O/I read for 0/1), at most 8 characters."""
    head = rest[:1].replace("0", "O")
    tail = rest[1:].replace("O", "0").replace("I", "1")
    return (province + head + tail)[:8]


def clean_plate(text: str) -> str:
    """The plate in a value: the first reading that GA 36-2018 accepts, dropping strokes of the province
    character read as letters (``J川IAC18D6`` -> ``川AC18D6``)."""
    text = PLATE_SEPARATORS.sub("", text)
    text = re.sub(r"^(?:J|I|l|\|)(?:I|l|\||1){2}(?=[A-Za-z])", "川", text)  # 川 read as "JII" / "III"
    text = text.upper()
    match = re.search(f"([{PROVINCE_CHARS}])([A-Z0-9]{{5,8}})", text)
    if not match:
        return ""
    province, rest = match.group(1), match.group(2)
    candidates = [_plate_shape(province, rest)]
    stripped = rest
    while stripped[:1] in ("I", "J", "L", "1", "|") and len(stripped) > 6:
        stripped = stripped[1:]
        candidates.append(_plate_shape(province, stripped))
    return next((c for c in candidates if check_plate(c).valid), candidates[0])


def clean_vin(text: str) -> str:
    text = strip_english_labels(text.strip(" :：.。"))
    text = re.sub(r"[^A-Za-z0-9]", "", text).upper().replace("I", "1").replace("O", "0").replace("Q", "0")
    match = re.search(f"[{VIN_ALLOWED}]{{17}}", text)
    return match.group(0) if match else text[:17]


def clean_date(text: str) -> str:
    digits = re.sub(r"[^0-9]", "", text.translate(DIGIT_FIX))
    if len(digits) >= 8:
        y, m, d = digits[:4], digits[4:6], digits[6:8]
        if 1950 <= int(y) <= 2100 and 1 <= int(m) <= 12 and 1 <= int(d) <= 31:
            return f"{y}-{m}-{d}"
    return ""


def clean_mass(text: str) -> str:
    """Digits before the unit: whatever follows the ``k`` is the unit (a needle-printed ``kg`` reads ``k9``)."""
    text = re.split(r"[kK千]", strip_english_labels(text), maxsplit=1)[0]
    digits = re.findall(r"\d+", text.translate(DIGIT_FIX))
    number = "".join(digits)
    return f"{int(number)}kg" if number else "--"


def clean_passengers(text: str) -> str:
    digits = re.findall(r"\d+", text.replace("人", " ").translate(DIGIT_FIX))
    return f"{int(digits[0])}人" if digits else ""


def clean_dimension(text: str) -> str:
    numbers = re.findall(r"\d{3,5}", text.translate(DIGIT_FIX).replace("mm", ""))
    return f"{numbers[0]}×{numbers[1]}×{numbers[2]}mm" if len(numbers) >= 3 else ""


# A dimension as printed: length × width × height in mm (× read as x, X, * or a space).
DIMENSION_SHAPE = re.compile(r"\d{3,5}\s*[×xX*]\s*\d{3,5}\s*[×xX*]\s*\d{3,5}(?:\s*mm)?")


def clean_inspection(text: str) -> str:
    text = text.replace(" ", "")
    match = re.search(r"(\d{4})年(\d{1,2})月(.*)$", text)
    if not match:
        return text
    tail = match.group(3).replace("（", "(").replace("）", ")")
    tail = re.sub(r"(\(\d{1,3}\)).*$", r"\1", tail)  # the stamp's border read after the station code
    return f"检验有效期至{match.group(1)}年{int(match.group(2)):02d}月{tail}"


def clean_alnum(text: str) -> str:
    text = strip_english_labels(text.strip(" :：.。"))
    return re.sub(r"[^A-Za-z0-9]", "", text).upper()


def strip_english_labels(text: str) -> str:
    """Drop English sub-labels read into a value, before or after it (``Addtes山西省…``, ``…GPSRemarks``)."""
    text = text[english_label_at(text, end=False) :]
    cut = english_label_at(text, end=True)
    return text[: len(text) - cut] if cut else text


# Ends of printed labels that OCR joins to a long value printed over them (``…748室型号``, 品牌型号).
LABEL_TAILS = ("型号", "性质", "日期", "代号", "号码", "类型", "编号", "尺寸", "记录", "人数")


def clean_cjk_text(text: str) -> str:
    """CJK values: no English sub-label, no stray punctuation."""
    text = strip_english_labels(text.strip(" :：.。,，"))
    return text.strip(" :：.。,，")


def clean_long_text(text: str) -> str:
    """Owner, address, remarks: as :func:`clean_cjk_text`, without the tail of a label the value ran over."""
    text = clean_cjk_text(text)
    tail = next((t for t in LABEL_TAILS if text.endswith(t) and len(text) > len(t) + 2), "")
    text = text[: len(text) - len(tail)] if tail else text
    return re.sub(r"室[号码型质期]$", "室", text)  # a flat number ends the address: a label's last character


# What a value must look like as read (before any clean-up), or it is doubtful: a letter in a number (O for 0) is
# still turned into the digit, but never silently. The unit of a mass is not a value: ``k`` and a g-like glyph.
DASH = r"[-—–一]+|"
GRAMMAR: dict[str, re.Pattern[str]] = {
    **dict.fromkeys(
        ("gross_mass", "unladen_mass", "approved_load", "traction_mass"),
        re.compile(rf"\d{{2,6}}[kK][gG9qQ]?|{DASH}"),
    ),
    "dimension": re.compile(r"\d{3,5}[×xX*]\d{3,5}[×xX*]\d{3,5}m{0,2}"),  # the unit, mm, read or not
    "file_no": re.compile(r"\d{10,15}"),
    "approved_passengers": re.compile(r"\d{1,3}人?"),
}


def fits_grammar(name: str, raw: str) -> bool:
    """Whether ``raw`` (as read, English sub-labels and spaces aside) fits the grammar of field ``name``."""
    pattern = GRAMMAR.get(name)
    if pattern is None:
        return True
    return bool(pattern.fullmatch(re.sub(r"\s", "", strip_english_labels(raw)).strip(":：.。,，")))


CLEANERS: dict[str, Callable[[str], str]] = {
    "name": clean_long_text,
    "address": clean_long_text,
    "remarks": clean_long_text,
    "number": clean_plate,
    "vin": clean_vin,
    "engine_no": clean_alnum,
    "register_date": clean_date,
    "issue_date": clean_date,
    "file_no": lambda t: re.sub(r"[^0-9]", "", t.translate(DIGIT_FIX)),
    "approved_passengers": clean_passengers,
    "gross_mass": clean_mass,
    "unladen_mass": clean_mass,
    "approved_load": clean_mass,
    "traction_mass": clean_mass,
    "dimension": clean_dimension,
    "inspection_record": clean_inspection,
    "model": lambda t: re.sub(r"\s", "", strip_english_labels(t.strip(" :：.。"))),
}
