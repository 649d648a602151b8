"""The licence's printed labels: finding them (exact, fuzzy, letter-spaced) and splitting two-page photos."""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Sequence

from .geometry import Box, Card, Label, _widest_gap, vertical_overlap

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
        if box.used or not text or box.x0 < label.box.x0 or vertical_overlap(box, label.box) < 0.4:
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


def is_noise(box: Box) -> bool:
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
