"""The licence's printed labels: finding them (exact, fuzzy, letter-spaced) and splitting two-page photos."""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Sequence

from .geometry import Box, Card, Label, _widest_gap, split_box, vertical_overlap

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


ENGLISH_LABELS = (  # the sub-label printed under every Chinese label, both pages
    "plate no", "vehicle type", "owner", "address", "use character", "model", "vin", "engine no", "register date",
    "issue date", "file no", "approved passengers", "gross mass", "unladen mass", "approved load",
    "overall dimension", "traction mass", "remarks", "inspection record", "vehicle license",
)  # fmt: skip
_ENGLISH_COMPACT = tuple(label.replace(" ", "") for label in ENGLISH_LABELS)


def english_label_at(text: str, *, end: bool) -> int:
    """Length of an English sub-label (as OCR reads them: ``Addtes``, ``RegisterDaie``, ``Use haracte``) at the
    start (``end=False``) or end of ``text``; 0 when there is none. Whole labels are preferred to fragments."""
    match = re.search(r"[A-Za-z][A-Za-z .)]*$" if end else r"^[A-Za-z][A-Za-z .)]*", text)
    if not match:
        return 0
    run = match.group(0)
    letters = re.sub(r"[^a-z]", "", run.lower())
    for fuzzy in (False, True):
        for size in range(len(letters), 2, -1):
            piece = letters[-size:] if end else letters[:size]
            if _looks_like_english_label(piece, fuzzy=fuzzy):
                return _span_of_letters(run, size, end=end)
    return 0


def _span_of_letters(run: str, letters: int, *, end: bool) -> int:
    """How many characters of ``run`` (from its end or start) hold ``letters`` letters, with trailing dots."""
    ordered = run[::-1] if end else run
    count = taken = 0
    for ch in ordered:
        taken += 1
        count += ch.isalpha()
        if count == letters:
            break
    rest = ordered[taken:]
    if not end:
        taken += len(rest) - len(rest.lstrip(" .)"))
    return taken


def _looks_like_english_label(letters: str, *, fuzzy: bool = True) -> bool:
    """An English sub-label read whole, or (``fuzzy``) a 5+ letter piece of one with one edit per five letters."""
    if letters in _ENGLISH_COMPACT:
        return True
    if not fuzzy or len(letters) < 5:
        return False
    allowed = max(1, len(letters) // 5)
    for label in _ENGLISH_COMPACT:
        for width in (len(letters) - 1, len(letters), len(letters) + 1):
            for start in range(0, max(1, len(label) - width + 1)):
                if _edit_distance(letters, label[start : start + width]) <= allowed:
                    return True
    return False


def _edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def is_english_label(text: str) -> bool:
    """The whole box is an English sub-label (possibly misread)."""
    letters = re.sub(r"[^a-z]", "", text.lower())
    return bool(re.fullmatch(r"[A-Za-z .)(']+", text)) and (
        _looks_like_english_label(letters) or "people" in letters or "republic" in letters
    )


TITLE_WORDS = ("中华人民共和国", "机动车行驶证", "行驶证")


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


def join_label_fragments(boxes: list[Box], labels: dict[str, tuple[str, ...]]) -> list[Box]:
    """Labels OCR read in pieces (``号`` + ``号码`` for 号牌号码): neighbouring short boxes on one line are joined
    when together, and neither alone, they match a label."""
    names = tuple({n for options in labels.values() for n in options})
    out = list(boxes)
    for box in sorted(boxes, key=lambda b: b.x0):
        if box not in out or len(box.compact) > 3 or _match_label(box.compact, names) is not None:
            continue
        right = [
            o
            for o in out
            if o is not box
            and -0.5 * box.h <= o.x0 - box.x1 < box.h
            and o.x0 > box.x0
            and vertical_overlap(box, o) > 0.5
        ]
        if not right:
            continue
        nxt = min(right, key=lambda o: o.x0)
        joined = box.compact + nxt.compact
        if _match_label(nxt.compact, names) is None and _match_label(joined, names) is not None:
            merged = Box(joined, min(box.score, nxt.score), [box.quad[0], nxt.quad[1], nxt.quad[2], box.quad[3]],
                         box.x0, nxt.x1, min(box.y0, nxt.y0), max(box.y1, nxt.y1))  # fmt: skip
            out[out.index(box)] = merged
            out.remove(nxt)
    return out


def split_embedded_labels(boxes: list[Box], labels: dict[str, tuple[str, ...]]) -> list[Box]:
    """Boxes where OCR joined a value and the next label on its row (``2013-06-17发证日期``) cut before the label,
    so the label is found and the value keeps only its own text."""
    names = sorted({n for options in labels.values() for n in options if len(n) >= 3}, key=len, reverse=True)
    out: list[Box] = []
    for box in boxes:
        pending = [box]
        while pending:
            current = pending.pop()
            text = current.compact
            cut = next(
                (
                    at
                    for name in names
                    if (at := text.find(name)) > 2
                    and not any(
                        longer.endswith(name) and text[: at + len(name)].endswith(longer)
                        for longer in names
                        if len(longer) > len(name)
                    )
                ),
                -1,
            )
            if cut < 0 or any(word in text for word in TITLE_WORDS):
                out.append(current)
                continue
            left, right = split_box(current, cut)
            out.append(left)
            pending.append(right)
    return out


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
            label = Label(name, box, rest, box.x0 + (box.x1 - box.x0) * share, box.score_after(len(text) - len(rest)))
            box.used = True
            if name in SPACED_LABELS and not rest:
                _absorb_spaced_parts(label, boxes, SPACED_LABELS[name])
            found[name] = label
            break
    return found


def _absorb_spaced_parts(label: Label, boxes: list[Box], parts: Sequence[str]) -> None:
    """Letter-spaced labels (备 注) come as several boxes: the later characters belong to the label too. A box that
    starts with the label's last characters and goes on (``人王京``, ``址北京市…``) is cut: the value is the rest."""
    full = "".join(parts)
    for box in sorted(boxes, key=lambda b: b.x0):
        text = box.compact
        remaining = full[len(label.box.compact) :] if full.startswith(label.box.compact) else full[1:]
        if not remaining:
            break
        if box.used or not text or box.x0 < label.box.x0 or vertical_overlap(box, label.box) < 0.4:
            continue
        if box.x0 - label.box.x1 > 4 * label.box.h:
            break
        taken = next((n for n in range(len(remaining), 0, -1) if text.startswith(remaining[-n:])), 0)
        if not taken:
            continue
        if taken < len(text):  # the value was read into the label's last box: keep it as a box of its own
            at = boxes.index(box)
            box, rest = split_box(box, taken)
            boxes[at] = box
            boxes.append(rest)
        box.used = True
        label.box = Box(
            label.box.compact + box.compact,
            label.box.score,
            label.box.quad + box.quad,
            label.box.x0,
            max(label.box.x1, box.x1),
            min(label.box.y0, box.y0),
            max(label.box.y1, box.y1),
            used=True,
        )


def is_noise(box: Box) -> bool:
    text = box.compact
    return is_english_label(box.text) or any(w in text for w in TITLE_WORDS) or text in ("O", "o", "0")


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
