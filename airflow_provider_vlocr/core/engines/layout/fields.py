"""Reading each label's value from the geometry around it, the seal and the barcode digits."""

from __future__ import annotations

import math
import re
import statistics

from ...schema import MASS_FIELDS
from ..reading import PageReading
from .cleaners import CLEANERS, clean_cjk_text, clean_plate, clean_vin
from .geometry import Box, Card, Label, vertical_overlap
from .labels import BACK_LABELS, FRONT_LABELS, find_labels, is_noise


def _row_value(label: Label, card: Card) -> tuple[str, list[Box]]:
    """Text right of ``label`` on its row, up to the next label on that row."""
    lbox = label.box
    next_x = min(
        (
            other.box.x0
            for other in card.labels.values()
            if other is not label and other.box.x0 > lbox.x1 - 2 and vertical_overlap(other.box, lbox) > 0.3
        ),
        default=math.inf,
    )
    parts: list[Box] = []
    for box in card.boxes:
        if box.used or is_noise(box):
            continue
        starts_after = box.x0 >= lbox.x1 - 0.5 * lbox.h
        spans_past = box.cx > lbox.cx and box.x1 > lbox.x1 + lbox.h  # a value box drawn over the label
        if not (starts_after or spans_past) or box.cx > next_x:
            continue
        if vertical_overlap(box, lbox) >= 0.35 or abs(box.cy - lbox.cy) < 0.55 * max(box.h, lbox.h):
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
        and not is_noise(b)
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
        and not is_noise(b)
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
            if not b.used and not is_noise(b) and b.x0 > right_of and vertical_overlap(b, anchor.box) >= 0.35
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
            and not is_noise(b)
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
