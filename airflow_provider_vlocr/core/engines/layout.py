"""Label-anchored layout parser: OCR text boxes of a licence photo -> a :class:`LicenseReading`.

Pure geometry and text rules, no OCR engine here, so it is tested on its own. Steps:

1. normalise each box's text (Traditional -> Simplified, full-width -> half-width) and deskew all boxes by the
   median angle of the long ones;
2. find the printed labels (exact, then within edit distance 1, letter-spaced 所 有 人 / 住 址 / 备 注 in parts);
3. split a photo holding both pages into two cards along the widest empty band between the front and back labels;
4. read each label's value: text after the label in its own box, then boxes to its right on the same row, up to
   the next label; the seal text left of the VIN column for the issuing authority; the digits under the barcode;
5. clean each value by its format (plate, VIN, dates, masses, dimension, ...) into the API's formats.
"""

from __future__ import annotations

import math
import re
import statistics
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from ...records.plates import check_plate
from ..schema import (
    ABBREVIATION_OF_PROVINCE,
    MASS_FIELDS,
    PLATE_SEPARATORS,
    PROVINCE_ABBREVIATIONS,
    PROVINCE_NAMES,
    VIN_ALPHABET,
)
from .reading import LicenseReading, PageReading

Point = tuple[float, float]

FRONT_LABELS: dict[str, tuple[str, ...]] = {
    "number": ("号牌号码",),
    "vehicle_type": ("车辆类型",),
    "name": ("所有人",),
    "address": ("住址",),
    "use_character": ("使用性质",),
    "model": ("品牌型号",),
    "vin": ("车辆识别代号", "车辆识别代码"),
    "engine_no": ("发动机号码", "发动机号"),
    "register_date": ("注册日期",),
    "issue_date": ("发证日期",),
}
BACK_LABELS: dict[str, tuple[str, ...]] = {
    "number": ("号牌号码",),
    "file_no": ("档案编号",),
    "approved_passengers": ("核定载人数",),
    "gross_mass": ("总质量",),
    "unladen_mass": ("整备质量",),
    "approved_load": ("核定载质量",),
    "dimension": ("外廓尺寸",),
    "traction_mass": ("准牵引总质量",),
    "remarks": ("备注",),
    "inspection_record": ("检验记录",),
}
FRONT_ONLY = set(FRONT_LABELS) - {"number"}
BACK_ONLY = set(BACK_LABELS) - {"number"}
SPACED_LABELS = {"name": ("所", "有", "人"), "address": ("住", "址"), "remarks": ("备", "注")}
ENGLISH_LABELS = re.compile(
    r"^(plate\s*no|vehicle\s*type|owner|address|use\s*character|model|vin|engine\s*no|register\s*date|"
    r"issue\s*date|vehicle\s*license|.*people.?s\s*republic|chicle|mode\)?)\W*$",
    re.IGNORECASE,
)
TITLE_WORDS = ("中华人民共和国", "机动车行驶证", "行驶证")
PROVINCE_CHARS = PROVINCE_ABBREVIATIONS
VIN_ALLOWED = VIN_ALPHABET


def _t2s() -> Callable[[str], str]:
    try:
        import opencc  # lazy: part of the [local] extra

        convert: Callable[[str], str] = opencc.OpenCC("t2s").convert
        return convert
    except ImportError:  # pragma: no cover - the extra installs it
        return lambda text: text


_TO_SIMPLIFIED: Callable[[str], str] | None = None


def normalise_text(text: str) -> str:
    """Half-width, Simplified, no surrounding or doubled spaces."""
    global _TO_SIMPLIFIED
    if _TO_SIMPLIFIED is None:
        _TO_SIMPLIFIED = _t2s()
    text = unicodedata.normalize("NFKC", text).replace("\u3000", " ")
    text = _TO_SIMPLIFIED(text)
    return re.sub(r"\s+", " ", text).strip()


@dataclass
class Box:
    """One OCR text box: text, score, original quad and deskewed extents."""

    text: str
    score: float
    quad: list[Point]
    x0: float = 0.0
    x1: float = 0.0
    y0: float = 0.0
    y1: float = 0.0
    used: bool = False

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2

    @property
    def h(self) -> float:
        return max(1.0, self.y1 - self.y0)

    @property
    def compact(self) -> str:
        return self.text.replace(" ", "")


@dataclass
class Label:
    """A label found in a box; ``rest`` is the text after it in the same box (often its value)."""

    field: str
    box: Box
    rest: str
    start: float  # deskewed x where the label text ends inside the box (estimate)


@dataclass
class Card:
    """The boxes of one licence page, its labels and its side."""

    side: str
    boxes: list[Box]
    labels: dict[str, Label] = field(default_factory=dict)


def _angle(quad: Sequence[Point]) -> float:
    (x0, y0), (x1, y1) = quad[0], quad[1]
    return math.atan2(y1 - y0, x1 - x0)


def _rotate(point: Point, angle: float) -> Point:
    c, s = math.cos(-angle), math.sin(-angle)
    return point[0] * c - point[1] * s, point[0] * s + point[1] * c


def make_boxes(raw: Iterable[tuple[Sequence[Point], str, float]]) -> list[Box]:
    """Normalise texts and deskew by the median angle of boxes wider than three times their height."""
    items: list[tuple[list[Point], str, float]] = [
        ([(float(x), float(y)) for x, y in quad], normalise_text(text), float(score)) for quad, text, score in raw
    ]
    items = [(q, t, s) for q, t, s in items if t]
    long_angles = []
    for quad, _text, _ in items:
        width = math.dist(quad[0], quad[1])
        height = math.dist(quad[0], quad[3])
        if width > 3 * height:
            long_angles.append(_angle(quad))
    angle = statistics.median(long_angles) if long_angles else 0.0
    boxes = []
    for quad, text, score in items:
        rotated = [_rotate(p, angle) for p in quad]
        xs, ys = [p[0] for p in rotated], [p[1] for p in rotated]
        boxes.append(Box(text, score, quad, min(xs), max(xs), min(ys), max(ys)))
    return boxes


def _edit_distance_le1(a: str, b: str) -> bool:
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _match_label(text: str, names: Sequence[str]) -> tuple[int, int] | None:
    """Where a label starts and ends in ``text``: exact anywhere, else fuzzy at the start."""
    for name in names:
        at = text.find(name)
        if at >= 0 and at <= 2:
            return at, at + len(name)
    for name in names:
        if len(name) >= 4:
            for size in (len(name), len(name) - 1, len(name) + 1):
                head = text[:size]
                if len(head) >= 3 and _edit_distance_le1(head, name):
                    return 0, size
    return None


def find_labels(boxes: list[Box], labels: dict[str, tuple[str, ...]]) -> dict[str, Label]:
    """The best box for each label (highest score; a label box is used once)."""
    found: dict[str, Label] = {}
    order = sorted(labels, key=lambda f: -max(len(n) for n in labels[f]))  # longer labels first: 核定载质量 vs 总质量
    for name in order:
        for box in boxes:
            if box.used:
                continue
            text = box.compact
            hit = _match_label(text, labels[name])
            if hit is None and name in SPACED_LABELS:
                parts = SPACED_LABELS[name]
                if text and text[0] == parts[0] and len(text) <= len(parts) + 20 and not text.startswith("备案"):
                    prefix = "".join(parts)
                    end = 1
                    while end < len(prefix) and end < len(text) and text[end] == prefix[end]:
                        end += 1
                    hit = (0, end)
            if hit is None:
                continue
            start, end = hit
            if name == "gross_mass" and start > 0 and text[start - 1] in "牵引":
                continue  # 准牵引总质量 contains 总质量
            rest = text[end:].lstrip(":：.。 ")
            share = end / max(1, len(text))
            label = Label(name, box, rest, box.x0 + (box.x1 - box.x0) * share)
            box.used = True
            if name in SPACED_LABELS and not rest:
                _absorb_spaced_parts(label, boxes, SPACED_LABELS[name])
            found[name] = label
            break
    return found


def _absorb_spaced_parts(label: Label, boxes: list[Box], parts: Sequence[str]) -> None:
    """Letter-spaced labels (备 注) come as several boxes: the later characters belong to the label too."""
    tail = "".join(parts)[1:]
    for box in sorted(boxes, key=lambda b: b.x0):
        text = box.compact
        if box.used or not text or box.x0 < label.box.x0 or _overlap(box, label.box) < 0.4:
            continue
        if box.x0 - label.box.x1 > 4 * label.box.h:
            break
        if tail.startswith(text) or (text[0] in tail and len(text) == 1):
            box.used = True
            label.box = Box(
                label.box.text + text,
                label.box.score,
                label.box.quad + box.quad,
                label.box.x0,
                max(label.box.x1, box.x1),
                min(label.box.y0, box.y0),
                max(label.box.y1, box.y1),
                used=True,
            )


def _is_noise(box: Box) -> bool:
    text = box.compact
    return bool(ENGLISH_LABELS.match(box.text)) or any(w in text for w in TITLE_WORDS) or text in ("O", "o", "0")


def split_cards(boxes: list[Box]) -> list[Card]:
    """One card, or two when the photo holds both pages (split across the widest empty band)."""
    probe = [Box(b.text, b.score, b.quad, b.x0, b.x1, b.y0, b.y1) for b in boxes]
    front = find_labels(probe, {k: FRONT_LABELS[k] for k in FRONT_ONLY})
    for b in probe:
        b.used = False
    back = find_labels(probe, {k: BACK_LABELS[k] for k in BACK_ONLY})
    if len(front) >= 3 and len(back) >= 3:
        f_pts = [(lab.box.cx, lab.box.cy) for lab in front.values()]
        b_pts = [(lab.box.cx, lab.box.cy) for lab in back.values()]
        fc = (statistics.fmean(p[0] for p in f_pts), statistics.fmean(p[1] for p in f_pts))
        bc = (statistics.fmean(p[0] for p in b_pts), statistics.fmean(p[1] for p in b_pts))
        axis = (bc[0] - fc[0], bc[1] - fc[1])
        norm = math.hypot(*axis) or 1.0
        ux, uy = axis[0] / norm, axis[1] / norm

        def proj(b: Box) -> tuple[float, float]:
            values = [b.x0 * ux + b.y0 * uy, b.x1 * ux + b.y0 * uy, b.x0 * ux + b.y1 * uy, b.x1 * ux + b.y1 * uy]
            return min(values), max(values)

        lo = max(lab.box.cx * ux + lab.box.cy * uy for lab in front.values())
        hi = min(lab.box.cx * ux + lab.box.cy * uy for lab in back.values())
        cut = _widest_gap(sorted(proj(b) for b in boxes), lo, hi)
        first = [b for b in boxes if (b.cx * ux + b.cy * uy) < cut]
        second = [b for b in boxes if (b.cx * ux + b.cy * uy) >= cut]
        return [Card("front", first), Card("back", second)]
    side = "back" if len(back) > len(front) else "front"
    return [Card(side, boxes)]


def _widest_gap(intervals: list[tuple[float, float]], lo: float, hi: float) -> float:
    """The middle of the widest stretch in (lo, hi) that no interval covers (else the midpoint)."""
    if hi <= lo:
        return (lo + hi) / 2
    best, best_width = (lo + hi) / 2, -1.0
    covered_to = -math.inf
    for start, end in intervals:
        if start > covered_to and covered_to > -math.inf:
            gap_lo, gap_hi = max(covered_to, lo), min(start, hi)
            if gap_hi - gap_lo > best_width:
                best, best_width = (gap_lo + gap_hi) / 2, gap_hi - gap_lo
        covered_to = max(covered_to, end)
    return best


def _overlap(a: Box, b: Box) -> float:
    """Vertical overlap as a share of the smaller height."""
    inter = min(a.y1, b.y1) - max(a.y0, b.y0)
    return max(0.0, inter) / min(a.h, b.h)


def _row_value(label: Label, card: Card) -> tuple[str, list[Box]]:
    """Text right of ``label`` on its row, up to the next label on that row."""
    lbox = label.box
    next_x = min(
        (
            other.box.x0
            for other in card.labels.values()
            if other is not label and other.box.x0 > lbox.x1 - 2 and _overlap(other.box, lbox) > 0.3
        ),
        default=math.inf,
    )
    parts: list[Box] = []
    for box in card.boxes:
        if box.used or _is_noise(box):
            continue
        starts_after = box.x0 >= lbox.x1 - 0.5 * lbox.h
        spans_past = box.cx > lbox.cx and box.x1 > lbox.x1 + lbox.h  # a value box drawn over the label
        if not (starts_after or spans_past) or box.cx > next_x:
            continue
        if _overlap(box, lbox) >= 0.35 or abs(box.cy - lbox.cy) < 0.55 * max(box.h, lbox.h):
            if box.x0 - lbox.x1 > 25 * lbox.h:
                continue
            parts.append(box)
    parts.sort(key=lambda b: b.x0)
    if len(parts) > 1:  # a wide gap means the next field's value (its label was not read): stop there
        gap_limit = 4 * statistics.median(b.h for b in parts)
        for i in range(1, len(parts)):
            if parts[i].x0 - parts[i - 1].x1 > gap_limit:
                parts = parts[:i]
                break
    text = label.rest + "".join(b.compact for b in parts)
    return text, parts


SPILLING = ("address", "remarks")  # long values the printer wraps onto the next line (names fit one line)


def _continuation(label: Label, parts: list[Box], card: Card) -> list[Box]:
    """Lines printed under a value, before the next label down: the rest of a wrapped value."""
    start = min(b.x0 for b in parts)
    bottom = max(b.y1 for b in parts)
    line_h = statistics.median(b.h for b in parts)
    below = [o.box.y0 for o in card.labels.values() if o.box.y0 > label.box.y1 - 0.2 * label.box.h]
    limit = min(below, default=bottom + 1.6 * line_h)
    lines = [
        b
        for b in card.boxes
        if not b.used
        and not _is_noise(b)
        and b not in parts
        and b.y0 >= bottom - 0.3 * line_h
        and b.cy < limit
        and b.y0 - bottom < 0.9 * line_h
        and abs(b.x0 - start) < 1.5 * line_h
    ]
    return sorted(lines, key=lambda b: b.cy)[:1]


def _seal(card: Card) -> tuple[str, list[Box]]:
    """The issuing authority: CJK lines left of the VIN/engine/date label column, below 使用性质."""
    column = [card.labels[k].box.x0 for k in ("vin", "engine_no", "register_date") if k in card.labels]
    if not column:
        return "", []
    right = min(column)
    top_label = card.labels.get("use_character") or card.labels.get("address")
    top = top_label.box.y1 if top_label else -math.inf
    lines = [
        b
        for b in card.boxes
        if not b.used
        and b.x1 <= right + 0.3 * b.h
        and b.cy > top
        and re.search(r"[\u4e00-\u9fff]{2,}", b.compact)
        and not _is_noise(b)
    ]
    lines.sort(key=lambda b: b.cy)
    text = "".join(re.sub(r"[^\u4e00-\u9fff]", "", b.compact) for b in lines)
    return text, lines


def _code_number(card: Card) -> tuple[str, list[Box]]:
    candidates = []
    for box in card.boxes:
        digits = re.sub(r"[^0-9]", "", box.compact)
        if 11 <= len(digits) <= 15 and re.fullmatch(r"\*?[0-9 ]+\*?", box.compact.replace(" ", "")):
            candidates.append((box.cy, digits, box))
    if not candidates:
        return "", []
    _, digits, box = max(candidates, key=lambda c: c[0])
    return digits, [box]


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
    text = re.sub(r"(?i)k\s*g|千克", "", text)
    digits = re.findall(r"\d+", text.translate(DIGIT_FIX))
    number = "".join(digits)
    return f"{int(number)}kg" if number else "--"


def clean_passengers(text: str) -> str:
    digits = re.findall(r"\d+", text.replace("人", " ").translate(DIGIT_FIX))
    return f"{int(digits[0])}人" if digits else ""


def clean_dimension(text: str) -> str:
    numbers = re.findall(r"\d{3,5}", text.translate(DIGIT_FIX).replace("mm", ""))
    return f"{numbers[0]}×{numbers[1]}×{numbers[2]}mm" if len(numbers) >= 3 else ""


def clean_inspection(text: str) -> str:
    text = text.replace(" ", "")
    match = re.search(r"(\d{4})年(\d{1,2})月(.*)$", text)
    if not match:
        return text
    tail = match.group(3).replace("（", "(").replace("）", ")")
    tail = re.sub(r"(\(\d{1,3}\)).*$", r"\1", tail)  # the stamp's border read after the station code
    return f"检验有效期至{match.group(1)}年{int(match.group(2)):02d}月{tail}"


def clean_alnum(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", text).upper()


def clean_cjk_text(text: str) -> str:
    """CJK values: drop an English sub-label read into the same row (``Addtes山西省…``) and stray punctuation."""
    text = re.sub(r"^[A-Za-z][A-Za-z .)]{1,15}(?=[\u4e00-\u9fff])", "", text)
    return text.strip(" :：.。,，")


CLEANERS: dict[str, Callable[[str], str]] = {
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
    "model": lambda t: re.sub(r"\s", "", t),
}


def _quad_of(boxes: list[Box]) -> list[list[int]]:
    """Four points enclosing the boxes, in original image coordinates (axis-aligned hull of their quads)."""
    xs = [p[0] for b in boxes for p in b.quad]
    ys = [p[1] for b in boxes for p in b.quad]
    x0, x1, y0, y1 = round(min(xs)), round(max(xs)), round(min(ys)), round(max(ys))
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def read_card(card: Card) -> PageReading:
    """Field values of one card in the API's formats, with text locations."""
    labels = FRONT_LABELS if card.side == "front" else BACK_LABELS
    card.labels = find_labels(card.boxes, labels)
    fields: dict[str, str] = {}
    locations: dict[str, list[list[int]]] = {}
    for name in labels:
        label = card.labels.get(name)
        if label is None:
            continue
        text, parts = _row_value(label, card)
        if name in SPILLING and parts:
            more = _continuation(label, parts, card)
            text += "".join(b.compact for b in more)
            parts += more
        value = CLEANERS.get(name, clean_cjk_text)(text)
        for box in parts:
            box.used = True
        fields[name] = value
        if parts:
            locations[name] = _quad_of(parts)
    _fallbacks(card, fields, locations)
    if card.side == "front":
        seal, lines = _seal(card)
        if seal:
            fields["issuing_authority"] = seal
            locations["issuing_authority"] = _quad_of(lines)
    else:
        code, boxes = _code_number(card)
        if code:
            fields["code_number"] = code
            locations["code_number"] = _quad_of(boxes)
        for name in MASS_FIELDS:
            if name in card.labels:
                fields.setdefault(name, "--")
        if "remarks" in card.labels:
            fields.setdefault("remarks", "")
    return PageReading(fields={k: v for k, v in fields.items() if v is not None}, text_location=locations)


# A field printed on the right of another one's row: found by position when its own label was not read.
ROW_PARTNERS = {
    "front": {"vehicle_type": "number", "model": "use_character", "issue_date": "register_date"},
    "back": {"file_no": "number", "gross_mass": "approved_passengers", "approved_load": "unladen_mass",
             "traction_mass": "dimension"},
}  # fmt: skip


def _fallbacks(card: Card, fields: dict[str, str], locations: dict[str, list[list[int]]]) -> None:
    """Find a missed plate or VIN by its shape anywhere on the card; unlabelled values by their row."""
    for name, partner in ROW_PARTNERS[card.side].items():
        anchor = card.labels.get(partner)
        if name in card.labels or anchor is None or partner not in locations:
            continue
        right_of = locations[partner][1][0]
        rest = [
            b
            for b in card.boxes
            if not b.used and not _is_noise(b) and b.x0 > right_of and _overlap(b, anchor.box) >= 0.35
        ]
        if rest:
            rest.sort(key=lambda b: b.x0)
            fields[name] = CLEANERS.get(name, clean_cjk_text)("".join(b.compact for b in rest))
            locations[name] = _quad_of(rest)
            for b in rest:
                b.used = True
    free = [b for b in card.boxes if not b.used]
    above, below = card.labels.get("name"), card.labels.get("use_character")
    if card.side == "front" and "address" not in fields and above and below:
        rows = [
            b
            for b in free
            if above.box.y1 < b.cy < below.box.y0
            and b.x0 > above.box.x0 + above.box.h
            and re.search(r"[\u4e00-\u9fff]{3,}", b.compact)
            and not _is_noise(b)
        ]
        if rows:
            rows.sort(key=lambda b: (b.cy, b.x0))
            fields["address"] = clean_cjk_text("".join(b.compact for b in rows))
            locations["address"] = _quad_of(rows)
            for b in rows:
                b.used = True
    if not fields.get("number"):
        for box in free:
            plate = clean_plate(box.compact)
            if len(plate) >= 7 and re.search(r"\d{3}", plate):
                fields["number"], locations["number"] = plate, _quad_of([box])
                box.used = True
                break
    if card.side == "front" and len(fields.get("vin", "")) != 17:
        for box in free:
            if box.used:
                continue
            vin = clean_vin(box.compact)
            if len(vin) == 17 and re.search(r"\d{4}", vin) and len(box.compact) <= 20:
                fields["vin"], locations["vin"] = vin, _quad_of([box])
                box.used = True
                break


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


def parse_boxes(raw: Iterable[tuple[Sequence[Point], str, float]]) -> LicenseReading:
    """The whole parser: OCR boxes -> pages read."""
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
