"""Reading each label's value by geometry relative to the label grid, the seal and the barcode digits.

Real cards print values with a needle printer on a pre-printed form, and the two layers are often misregistered:
a whole card's values sit up to a row lower than their labels (over the English sub-labels) and shifted sideways,
each row jittered on its own. So values are not read by same-line adjacency but assigned to labels:

1. the grid: label line height, the row pitch, and the card's value offset (the vertical shift that puts the most
   labels in front of a text box);
2. each free box goes to the label whose expected value position (label row + offset) is nearest, within that
   label's column (right of it, up to the next label on its row);
3. a label keeps its nearest line; long values keep the line wrapped under it; a line that holds a second value
   (an unread label's, printed beside on the same row) is cut at the widest gap and the rest goes to that field;
4. a label with nothing in its window takes the nearest unclaimed text right of it, with low confidence, rather than
   staying silently empty.

Each field carries its parser evidence in [0, 1]: how sure the assignment is, times the OCR scores of its boxes.
"""

from __future__ import annotations

import math
import re
import statistics
from dataclasses import dataclass, field

from ....licence.schema import MASS_FIELDS, USE_CHARACTERS
from ..reading import PageReading
from .cleaners import CLEANERS, DIMENSION_SHAPE, clean_cjk_text, clean_plate, clean_vin, fits_grammar
from .geometry import Box, Card, Label
from .labels import BACK_LABELS, FRONT_LABELS, find_labels, is_noise, join_label_fragments, split_embedded_labels

SPILLING = ("address", "remarks")  # long values the printer wraps onto the next line (names fit one line)
# A field printed on the right of another one's row: it takes the rest of that row when its own label was not read.
ROW_PARTNERS = {
    "front": {"vehicle_type": "number", "model": "use_character", "issue_date": "register_date"},
    "back": {"file_no": "number", "gross_mass": "approved_passengers", "approved_load": "unladen_mass",
             "traction_mass": "dimension"},
}  # fmt: skip
BLANK_MASSES = ("approved_load", "traction_mass")  # blank on most cars; gross and unladen masses never are
# How much a field's confidence follows the OCR score of its weakest character (confidence = evidence x score^w):
# fully for free text, less where validators catch misreads (plate grammar, dates, masses), least where a check digit
# or a fixed length does (VIN, the 13-digit code under the barcode, whose spaced digits score low when read right).
OCR_WEIGHT = {"number": 0.5, "register_date": 0.5, "issue_date": 0.5, "approved_passengers": 0.5, "gross_mass": 0.5,
              "unladen_mass": 0.5, "approved_load": 0.5, "traction_mass": 0.5, "dimension": 0.5, "file_no": 0.5,
              "inspection_record": 0.5, "vin": 0.25, "code_number": 0.25}  # fmt: skip
NEAR, FAR = 0.5, 0.9  # assignment limits in row pitches (FAR: the last resort for a label left empty)
EVIDENCE = {  # how sure each way of finding a value is (times the OCR scores of its boxes)
    "label_box": 1.0,  # in the label's own box
    "grid": 1.0,  # in front of its label, at the card's value offset
    "off_grid": 0.75,  # in its label's column but off the expected row
    "partner": 0.8,  # the rest of a row partner's line (own label unread)
    "rows": 0.8,  # the address between the owner and use-character rows (own label unread)
    "shape": 0.85,  # a plate or VIN recognised by its shape anywhere (validators check it further)
    "seal": 0.9,  # the issuing authority's seal, left of the VIN column
    "nearest": 0.45,  # the nearest text right of a label with nothing at its row: better than an empty field
}
OFF_GRAMMAR = 0.5  # a value read outside its field's grammar (cleaners.GRAMMAR): cleaned, and doubtful
LABEL_RESIDUE = 0.5  # a text value that starts with a character of its own label (人缪长富: 所有人's last one)
RESIDUE_FIELDS = ("name", "address", "vehicle_type", "use_character", "model")
SWALLOWED = 0.3  # a value that held another field's value (a dimension read into the remarks)


@dataclass
class Grid:
    """The label grid of one card: line height, row pitch, the printed values' vertical offset, and where each
    label's value column ends (the next label on its row)."""

    line: float
    pitch: float
    offset: float
    ends: dict[str, float]


@dataclass
class Claim:
    """What one field was read from: boxes, how they were found, and their cost (distance in row pitches)."""

    boxes: list[Box] = field(default_factory=list)
    how: str = "grid"
    cost: float = 0.0


def _column_end(label: Label, card: Card, pitch: float) -> float:
    """Where ``label``'s value may end: the next label on its row (none: the card's edge)."""
    lbox = label.box
    return min(
        (
            other.box.x0
            for other in card.labels.values()
            if other is not label and other.box.x0 > lbox.x1 - 2 and abs(other.box.cy - lbox.cy) < 0.45 * pitch
        ),
        default=math.inf,
    )


def _in_window(box: Box, label: Label, end: float) -> bool:
    """Whether ``box`` lies in ``label``'s value column: right of the label, before ``end``."""
    return box.cx > label.box.x1 and box.x0 >= label.box.x0 - 0.5 * label.box.h and box.cx < end


def _grid(card: Card, free: list[Box]) -> Grid:
    """Row pitch from the label column, and the value offset that best explains the text right of the labels."""
    labels = list(card.labels.values())
    line = statistics.median(lab.box.h for lab in labels) if labels else 30.0
    steps = []
    for lab in labels:  # the next row down, in any column
        below = [o.box.cy - lab.box.cy for o in labels if o.box.cy - lab.box.cy > 0.8 * line]
        if below:
            steps.append(min(below))
    pitch = statistics.median(steps) if steps else 3.3 * line
    pitch = min(max(pitch, 1.8 * line), 6 * line)
    ends = {name: _column_end(lab, card, pitch) for name, lab in card.labels.items()}
    best, best_score = 0.0, -math.inf
    for step in range(-16, 29):  # -0.32 .. +0.56 pitch: printers shift values down rather than up
        offset = step * 0.02 * pitch
        score = 0.0
        for name, lab in card.labels.items():
            gaps = [abs(b.cy - lab.box.cy - offset) / pitch for b in free if _in_window(b, lab, ends[name])]
            if gaps:
                score += max(0.0, 1 - min(gaps) / 0.2)
        score -= 0.3 * abs(offset) / pitch  # ties go to the smaller shift
        if score > best_score:
            best, best_score = offset, score
    return Grid(line, pitch, best, ends)


def _lines(boxes: list[Box]) -> list[list[Box]]:
    """Boxes grouped into text lines, top to bottom, each left to right."""
    lines: list[list[Box]] = []
    for box in sorted(boxes, key=lambda b: b.cy):
        if lines and abs(box.cy - statistics.fmean(b.cy for b in lines[-1])) < 0.5 * max(box.h, lines[-1][0].h):
            lines[-1].append(box)
        else:
            lines.append([box])
    return [sorted(line, key=lambda b: b.x0) for line in lines]


def _assign(card: Card, grid: Grid, free: list[Box]) -> dict[str, Claim]:
    """Each free box to the label whose expected value position is nearest; each label keeps its nearest line."""
    pool: dict[str, list[tuple[float, Box]]] = {name: [] for name in card.labels}
    for box in free:
        costs = [
            (abs(box.cy - lab.box.cy - grid.offset) / grid.pitch, name)
            for name, lab in card.labels.items()
            if _in_window(box, lab, grid.ends[name])
        ]
        if costs:
            cost, name = min(costs)
            if cost < NEAR:
                pool[name].append((cost, box))
    claims: dict[str, Claim] = {}
    for name, scored in pool.items():
        if not scored:
            continue
        lines = _lines([b for _, b in scored])
        cost_of = {id(b): c for c, b in scored}
        main = min(lines, key=lambda ln: min(cost_of[id(b)] for b in ln))
        cost = min(cost_of[id(b)] for b in main)
        claims[name] = Claim(_cut_at_gap(main), "grid" if cost < 0.25 else "off_grid", cost)
    claimed = {id(b) for claim in claims.values() for b in claim.boxes}
    leftover = [b for b in free if id(b) not in claimed]  # second lines of wrapped values among them
    for name in SPILLING:
        if name in claims:
            claims[name].boxes += _continuation(claims[name].boxes, leftover)
    return claims


def _cut_at_gap(line: list[Box]) -> list[Box]:
    """A line up to its first wide gap (beyond: the next field's value, whose label was not read)."""
    if len(line) > 1:
        gap_limit = 4 * statistics.median(b.h for b in line)
        for i in range(1, len(line)):
            if line[i].x0 - line[i - 1].x1 > gap_limit:
                return line[:i]
    return line


def _continuation(main: list[Box], others: list[Box]) -> list[Box]:
    """The line printed right under a value, starting where it starts: the rest of a wrapped value."""
    start, bottom = min(b.x0 for b in main), max(b.y1 for b in main)
    line_h = statistics.median(b.h for b in main)
    below = [b for b in others if b.y0 >= bottom - 0.4 * line_h and b.y0 - bottom < 0.9 * line_h]
    below = [b for b in below if abs(b.x0 - start) < 1.5 * line_h] or []
    return sorted(below, key=lambda b: b.x0)[:2]


def _nearest_unclaimed(label: Label, grid: Grid, free: list[Box]) -> Claim | None:
    """The last resort for a label with nothing in its window: the nearest text right of it within ``FAR``."""
    scored = [
        (abs(b.cy - label.box.cy - grid.offset) / grid.pitch, b)
        for b in free
        if not b.used and _in_window(b, label, grid.ends[label.field])
    ]
    scored = [(c, b) for c, b in scored if c < FAR]
    if not scored:
        return None
    cost, box = min(scored, key=lambda cb: (cb[0], cb[1].x0))
    line = [b for c, b in scored if abs(b.cy - box.cy) < 0.5 * box.h]
    return Claim(_cut_at_gap(sorted(line, key=lambda b: b.x0)), "nearest", cost)


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
    """The digits under the barcode: a line of digit-only boxes (spaced digits are often read as several boxes),
    between ``*`` guards when they were read, never another field's value unguarded (the file number); the
    lowest such line."""
    digit_boxes = [b for b in card.boxes if re.fullmatch(r"\*?[0-9]+\*?", b.compact.replace(" ", ""))]
    candidates = []
    for line in _lines(digit_boxes):
        line.sort(key=lambda b: b.x0)
        text = "".join(b.compact.replace(" ", "") for b in line)
        digits = re.sub(r"[^0-9]", "", text)
        guarded = text.startswith("*") or text.endswith("*")
        free = not any(b.used for b in line)
        if 11 <= len(digits) <= 15 and (free or guarded):
            candidates.append((guarded, free, max(b.cy for b in line), digits, line))
    if not candidates:
        return "", []
    *_, digits, line = max(candidates, key=lambda c: c[:3])
    return digits, line


def _dimension_by_shape(card: Card, page: _Page) -> None:
    """A dimension whose label or value was not read: its shape (``5000×1858×1493mm``) anywhere on the back card.
    Found inside another field's value (the remarks ran over it), that field is doubtful too."""
    if page.fields.get("dimension"):
        return
    for box in card.boxes:
        found = DIMENSION_SHAPE.search(box.text)
        if found is None:
            continue
        for name, raw in page.raw.items():
            if name != "dimension" and found.group(0).replace(" ", "") in raw.replace(" ", ""):
                page.evidence[name] = round(page.evidence.get(name, 1.0) * SWALLOWED, 4)
        page.put("dimension", found.group(0), [box], "shape")
        return


def _quad_of(boxes: list[Box]) -> list[list[int]]:
    """Four points enclosing the boxes, in original image coordinates (axis-aligned hull of their quads)."""
    xs = [p[0] for b in boxes for p in b.quad]
    ys = [p[1] for b in boxes for p in b.quad]
    x0, x1, y0, y1 = round(min(xs)), round(max(xs)), round(min(ys)), round(max(ys))
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


class _Page:
    """Fields being read from one card: values, locations and parser evidence."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}
        self.locations: dict[str, list[list[int]]] = {}
        self.evidence: dict[str, float] = {}
        self.raw: dict[str, str] = {}

    def put(self, name: str, text: str, boxes: list[Box], how: str, label: Label | None = None) -> None:
        """Record a field read from ``boxes`` (and the tail of its label's box)."""
        self.raw[name] = text
        self.fields[name] = CLEANERS.get(name, clean_cjk_text)(text)
        if boxes:
            self.locations[name] = _quad_of(boxes)
        scores = [b.score for b in boxes] + ([label.rest_score] if label is not None else []) or [0.5]
        grammar = 1.0 if fits_grammar(name, text) else OFF_GRAMMAR
        first = self.fields[name][:1]
        if name in RESIDUE_FIELDS and first and first in "".join(FRONT_LABELS.get(name, ())):
            grammar *= LABEL_RESIDUE  # left as read: the character may be the value's own
        self.evidence[name] = round(EVIDENCE[how] * grammar * min(scores) ** OCR_WEIGHT.get(name, 1.0), 4)
        for box in boxes:
            box.used = True

    def reading(self) -> PageReading:
        return PageReading(fields=self.fields, text_location=self.locations, confidence=self.evidence)


def read_card(card: Card) -> PageReading:
    """Field values of one card in the API's formats, with text locations and parser evidence."""
    labels = FRONT_LABELS if card.side == "front" else BACK_LABELS
    card.boxes = split_embedded_labels(join_label_fragments(card.boxes, labels), labels)
    card.labels = find_labels(card.boxes, labels)
    free = [b for b in card.boxes if not b.used and not is_noise(b)]
    grid = _grid(card, free)
    claims = _assign(card, grid, free)
    page = _Page()
    for name in labels:
        label = card.labels.get(name)
        if label is None:
            continue
        claim = claims.get(name) or Claim()
        boxes = [b for b in claim.boxes if not b.used]
        if label.rest:
            page.put(name, label.rest + "".join(b.compact for b in boxes), boxes, "label_box", label)
        elif boxes:
            page.put(name, "".join(b.compact for b in boxes), boxes, claim.how)
        elif (last := _nearest_unclaimed(label, grid, free)) is not None:
            page.put(name, "".join(b.compact for b in last.boxes), last.boxes, "nearest")
    _partners(card, grid, free, page)
    _fallbacks(card, free, page)
    if card.side == "front":
        _split_use_character(page)
    if card.side == "front":
        seal, lines = _seal(card)
        if seal:
            page.put("issuing_authority", seal, lines, "seal")
            page.fields["issuing_authority"] = seal
    else:
        code, boxes = _code_number(card)
        if code:
            page.put("code_number", code, boxes, "seal" if len(code) == 13 else "shape")
            page.fields["code_number"] = code
        _dimension_by_shape(card, page)
        for name in MASS_FIELDS:  # a mass label with no value: the card prints "--" or leaves it blank
            if name in card.labels and name not in page.fields:  # every vehicle has gross and unladen masses
                page.fields[name], page.evidence[name] = "--", 0.7 if name in BLANK_MASSES else 0.3
        if "remarks" in card.labels and "remarks" not in page.fields:
            page.fields["remarks"], page.evidence["remarks"] = "", 0.85
    return page.reading()


def _partners(card: Card, grid: Grid, free: list[Box], page: _Page) -> None:
    """A field whose label was not read: the rest of its partner's row, right of the partner's value."""
    for name, partner in ROW_PARTNERS[card.side].items():
        anchor = card.labels.get(partner)
        if name in card.labels or anchor is None or name in page.fields:
            continue
        right_of = page.locations[partner][1][0] if partner in page.locations else anchor.box.x1
        rest = [
            b
            for b in free
            if not b.used and b.x0 > right_of and abs(b.cy - anchor.box.cy - grid.offset) / grid.pitch < NEAR
        ]
        rest = _cut_at_gap(sorted(_lines(rest)[0], key=lambda b: b.x0)) if rest else []
        if rest:
            page.put(name, "".join(b.compact for b in rest), rest, "partner")
        elif name == "issue_date":  # both dates read into one box
            dates = re.findall(r"\d{4}\D{0,2}\d{1,2}\D{0,2}\d{1,2}", page.raw.get(partner, ""))
            if len(dates) >= 2:
                page.put(name, dates[1], [], "partner")
                page.locations[name] = page.locations.get(partner, [])


def _split_use_character(page: _Page) -> None:
    """A use character read together with the model beside it (``非营运长安牌SC7164ABA5``, the model's label
    unread): the known use character stays, the rest goes to an empty model with low confidence."""
    value = page.fields.get("use_character", "")
    if value in USE_CHARACTERS:
        return
    known = max((u for u in USE_CHARACTERS if value.startswith(u)), key=len, default=None)
    if known is None or "牌" not in value[len(known) :]:
        return
    rest = value[len(known) :]
    page.fields["use_character"] = known
    if not page.fields.get("model"):
        page.fields["model"] = CLEANERS["model"](rest)
        page.evidence["model"] = round(EVIDENCE["nearest"] * page.evidence.get("use_character", 1.0), 4)
        page.locations["model"] = page.locations.get("use_character", [])


def _fallbacks(card: Card, free: list[Box], page: _Page) -> None:
    """Find a missed address by its rows, a missed plate or VIN by its shape anywhere on the card."""
    left = [b for b in free if not b.used]
    above, below = card.labels.get("name"), card.labels.get("use_character")
    if card.side == "front" and "address" not in page.fields and above and below:
        rows = [
            b
            for b in left
            if above.box.y1 < b.cy < below.box.y0
            and b.x0 > above.box.x0 + above.box.h
            and re.search(r"[\u4e00-\u9fff]{3,}", b.compact)
        ]
        if rows:
            rows.sort(key=lambda b: (b.cy, b.x0))
            page.put("address", "".join(b.compact for b in rows).lstrip("址"), rows, "rows")
    if not page.fields.get("number"):
        for box in left:
            plate = clean_plate(box.compact)
            if not box.used and len(plate) >= 7 and re.search(r"\d{3}", plate):
                page.put("number", box.compact, [box], "shape")
                break
    if card.side == "front" and len(page.fields.get("vin", "")) != 17:
        for box in left:
            vin = clean_vin(box.compact)
            if not box.used and len(vin) == 17 and re.search(r"\d{4}", vin) and len(box.compact) <= 20:
                page.put("vin", box.compact, [box], "shape")
                break
