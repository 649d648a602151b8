"""Boxes on a deskewed page: extents, rows, overlaps and empty bands."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .text import normalise_text

Point = tuple[float, float]


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
    char_scores: tuple[float, ...] = ()  # each character's OCR score, aligned with ``text`` (empty: not known)

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

    def score_after(self, taken: int) -> float:
        """The weakest letter, digit or ideograph after the first ``taken`` characters of :attr:`compact` (the
        value after a label read in the same box); the whole box's score when per-character scores are unknown."""
        if len(self.char_scores) != len(self.text):
            return self.score
        pairs = [(c, s) for c, s in zip(self.text, self.char_scores, strict=True) if c != " "][taken:]
        scores = [s for c, s in pairs if c.isalnum()]
        return min(scores) if scores else self.score


@dataclass
class Label:
    """A label found in a box; ``rest`` is the text after it in the same box (often its value)."""

    field: str
    box: Box
    rest: str
    start: float  # deskewed x where the label text ends inside the box (estimate)
    rest_score: float = 1.0  # the OCR score of ``rest`` alone (a misread label character says nothing of it)


@dataclass
class Card:
    """The boxes of one licence page, its labels and its side."""

    side: str
    boxes: list[Box]
    labels: dict[str, Label] = field(default_factory=dict)


def split_box(box: Box, at: int) -> tuple[Box, Box]:
    """Cut a box before its ``at``-th non-space character, the cut placed in proportion to the characters."""
    compact = box.compact
    share = at / max(1, len(compact))
    (a, b, c, d) = box.quad[:4]
    top = (a[0] + (b[0] - a[0]) * share, a[1] + (b[1] - a[1]) * share)
    bottom = (d[0] + (c[0] - d[0]) * share, d[1] + (c[1] - d[1]) * share)
    cut = box.x0 + (box.x1 - box.x0) * share
    left = Box(compact[:at], box.score, [a, top, bottom, d], box.x0, cut, box.y0, box.y1)
    right = Box(compact[at:], box.score, [top, b, c, bottom], cut, box.x1, box.y0, box.y1)
    return left, right


def page_tilt(quads: Iterable[Sequence[Point]]) -> float:
    """The page's tilt in radians (positive: its lines fall to the right, in pixels with y down): the median angle
    of the boxes wider than three times their height, whose top edges follow their text lines."""
    angles = [_angle(quad) for quad in quads if math.dist(quad[0], quad[1]) > 3 * math.dist(quad[0], quad[3])]
    return statistics.median(angles) if angles else 0.0


def _angle(quad: Sequence[Point]) -> float:
    (x0, y0), (x1, y1) = quad[0], quad[1]
    return math.atan2(y1 - y0, x1 - x0)


def _rotate(point: Point, angle: float) -> Point:
    c, s = math.cos(-angle), math.sin(-angle)
    return point[0] * c - point[1] * s, point[0] * s + point[1] * c


def make_boxes(raw: Iterable[Sequence[Any]]) -> list[Box]:
    """Normalise texts and deskew by the median angle of boxes wider than three times their height. Each raw box is
    ``(quad, text, score)`` or ``(quad, text, score, per-character scores)``."""
    items: list[tuple[list[Point], str, float, tuple[float, ...]]] = []
    for quad, text, score, *rest in raw:
        normal = normalise_text(text)
        chars = tuple(float(c) for c in rest[0]) if rest and len(rest[0]) == len(text) == len(normal) else ()
        if normal:
            items.append(([(float(x), float(y)) for x, y in quad], normal, float(score), chars))
    angle = page_tilt(quad for quad, *_ in items)
    boxes = []
    for quad, text, score, chars in items:
        rotated = [_rotate(p, angle) for p in quad]
        xs, ys = [p[0] for p in rotated], [p[1] for p in rotated]
        boxes.append(Box(text, score, quad, min(xs), max(xs), min(ys), max(ys), char_scores=chars))
    return boxes


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


def vertical_overlap(a: Box, b: Box) -> float:
    """Vertical overlap as a share of the smaller height."""
    inter = min(a.y1, b.y1) - max(a.y0, b.y0)
    return max(0.0, inter) / min(a.h, b.h)
