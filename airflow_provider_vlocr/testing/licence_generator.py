"""Render synthetic vehicle-licence photos (both pages) with ground truth and realistic degradations.

Layout after the 2008 paper edition (GA 37, 88×60 mm card), rendered at 1400×955 px: bilingual labels, dotted
underlines, values on a misregistered "printer" layer (solid or dot-matrix), a square red seal holding the issuing
authority on the front, a boxed inspection stamp and barcode-like bars over the 13-digit code on the back.
Needs a CJK font (Debian ``fonts-noto-cjk`` / ``fonts-wqy-microhei`` / ``fonts-arphic-uming``).
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from ..core.engines.reading import LicenseReading, PageReading
from .licence_values import LicenceValues, random_licence

CARD_W, CARD_H = 1400, 955
WRAPPED = ("address",)  # long values printed on two lines, as on real cards
WRAP_AT = 18
VARIANTS = (
    "clean", "rot", "blur", "jpeg", "noise", "persp", "lowres", "photo", "hard",  # capture conditions
    "misreg", "worn", "sleeve", "strip", "wallet", "scan", "desk",  # what real cards and real photos add
)  # fmt: skip
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", str(Path.home() / ".fonts"))
FONT_FILES = {
    "serif": ["NotoSerifCJK-Regular.ttc", "uming.ttc"],
    "serif_bold": ["NotoSerifCJK-Bold.ttc", "NotoSerifCJK-Regular.ttc", "uming.ttc"],
    "sans": ["NotoSansCJK-Regular.ttc", "wqy-microhei.ttc", "wqy-zenhei.ttc"],
    "sans_bold": ["NotoSansCJK-Bold.ttc", "wqy-zenhei.ttc", "wqy-microhei.ttc"],
    "mono": ["DejaVuSansMono.ttf", "NotoSansCJK-Regular.ttc"],
}
FRONT_LABELS = [  # (field, Chinese label, English label, label x, value x, row y) in card fractions
    ("number", "号牌号码", "Plate No.", 0.035, 0.175, 0.245),
    ("vehicle_type", "车辆类型", "Vehicle Type", 0.43, 0.585, 0.245),
    ("name", "所有人", "Owner", 0.035, 0.175, 0.355),
    ("address", "住址", "Address", 0.035, 0.175, 0.465),
    ("use_character", "使用性质", "Use Character", 0.035, 0.175, 0.575),
    ("model", "品牌型号", "Model", 0.36, 0.51, 0.575),
    ("vin", "车辆识别代号", "VIN", 0.29, 0.49, 0.685),
    ("engine_no", "发动机号码", "Engine No.", 0.29, 0.49, 0.79),
    ("register_date", "注册日期", "Register Date", 0.29, 0.42, 0.9),
    ("issue_date", "发证日期", "Issue Date", 0.63, 0.76, 0.9),
]
BACK_LABELS = [
    ("number", "号牌号码", "Plate No.", 0.03, 0.165, 0.085),
    ("file_no", "档案编号", "File No.", 0.5, 0.635, 0.085),
    ("approved_passengers", "核定载人数", "Approved Passengers", 0.03, 0.19, 0.195),
    ("gross_mass", "总质量", "Gross Mass", 0.56, 0.7, 0.195),
    ("unladen_mass", "整备质量", "Unladen Mass", 0.03, 0.165, 0.305),
    ("approved_load", "核定载质量", "Approved Load", 0.56, 0.72, 0.305),
    ("dimension", "外廓尺寸", "Overall Dimension", 0.03, 0.165, 0.415),
    ("traction_mass", "准牵引总质量", "Traction Mass", 0.56, 0.75, 0.415),
    ("remarks", "备注", "Remarks", 0.03, 0.165, 0.525),
    ("inspection_record", "检验记录", "Inspection Record", 0.03, 0.2, 0.71),
]
SPACEABLE = ("所有人", "住址", "总质量", "备注")  # short labels real cards print letter-spaced


@dataclass(frozen=True)
class Printing:
    """How a card's values were printed: the whole value layer's offset, per-row jitter, the print head."""

    dx: float
    dy: float
    jitter_x: float
    jitter_y: float
    dot_matrix: bool

    @classmethod
    def draw(cls, rng: random.Random, dot_matrix: bool, misregistered: bool) -> Printing:
        """Usual cards are printed a few pixels off; misregistered ones half a row to a row low (values over the
        English sub-labels) and shifted sideways, each row jittered on its own."""
        if misregistered:
            return cls(rng.uniform(-55, 55), rng.uniform(22, 52), 12, 7, dot_matrix)
        return cls(rng.uniform(-15, 15), rng.uniform(-6, 16), 4, 3, dot_matrix)


def _spaced(label: str, rng: random.Random) -> str:
    """A short label as one card prints it: tight, or letter-spaced with ASCII or ideographic spaces."""
    if label not in SPACEABLE:
        return label
    gap = rng.choice(["", " ", "\u3000", "\u3000\u3000" if len(label) == 2 else "\u3000", "    "])
    return gap.join(label)


class FontUnavailableError(RuntimeError):
    """No CJK font is installed (install Debian's fonts-noto-cjk or fonts-wqy-microhei)."""


@cache
def _font_path(style: str) -> str:
    for name in FONT_FILES[style]:
        for folder in FONT_DIRS:
            hits = sorted(Path(folder).rglob(name)) if Path(folder).exists() else []
            if hits:
                return str(hits[0])
    raise FontUnavailableError(f"no {style} font among {FONT_FILES[style]} in {FONT_DIRS}")


@lru_cache(maxsize=256)
def font(style: str, size: int) -> ImageFont.FreeTypeFont:
    path = _font_path(style)
    index = 2 if path.endswith(".ttc") and "Noto" in path else 0  # SC face of the Noto collections
    return ImageFont.truetype(path, size, index=index)


def fonts_available() -> bool:
    try:
        _font_path("serif")
        _font_path("sans")
    except FontUnavailableError:
        return False
    return True


@dataclass
class Page:
    """A rendered page: RGB image and each value's four corner points."""

    image: Image.Image
    boxes: dict[str, list[tuple[float, float]]] = field(default_factory=dict)


def _background(rng: random.Random) -> Image.Image:
    base = (rng.randint(225, 245), rng.randint(235, 250), rng.randint(230, 248))
    img = Image.new("RGB", (CARD_W, CARD_H), base)
    draw = ImageDraw.Draw(img)
    for i in range(0, CARD_W + CARD_H, 14):  # guilloche-like security lines
        shade = tuple(max(0, c - rng.randint(8, 18)) for c in base)
        draw.arc([i - 600, -300, i + 200, CARD_H + 300], 200, 340, fill=shade, width=1)
    return img


def _text(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    fnt: ImageFont.FreeTypeFont,
    fill: tuple[int, int, int],
) -> tuple[float, float, float, float]:
    draw.text(xy, text, font=fnt, fill=fill, anchor="lm")
    return draw.textbbox(xy, text, font=fnt, anchor="lm")


def _dot_matrix(layer: Image.Image, pitch: int = 2) -> Image.Image:
    """Turn solid glyphs into needle-printer dots: 2 px at 15.9 px/mm is a 0.13 mm pitch, a 24-pin printer's
    180 dpi (the card is 88 mm wide at 1400 px)."""
    mask = layer.getchannel("A")
    small = mask.resize((max(1, mask.width // pitch), max(1, mask.height // pitch)), Image.Resampling.BOX)
    dots = Image.new("L", mask.size, 0)
    draw = ImageDraw.Draw(dots)
    for y in range(small.height):
        for x in range(small.width):
            if small.getpixel((x, y)) > 60:  # type: ignore[operator]
                cx, cy = x * pitch + pitch / 2, y * pitch + pitch / 2
                draw.ellipse([cx - pitch * 0.55, cy - pitch * 0.55, cx + pitch * 0.55, cy + pitch * 0.55], fill=255)
    out = Image.new("RGBA", layer.size, (0, 0, 0, 0))
    colour = Image.new("RGBA", layer.size, (*layer.getpixel((0, 0))[:3], 255))  # type: ignore[index]
    out.paste(colour, (0, 0), dots)
    return out


def _values_layer(
    values: list[tuple[str, str, float, float]], rng: random.Random, printing: Printing
) -> tuple[Image.Image, dict[str, list[tuple[float, float]]]]:
    """The printer's layer: each row shifted by the card's offset plus its own jitter."""
    ink = (rng.randint(10, 50),) * 3
    layer = Image.new("RGBA", (CARD_W, CARD_H), (*ink, 0))
    draw = ImageDraw.Draw(layer)
    style = rng.choice(["sans_bold", "serif_bold", "sans"])
    boxes: dict[str, list[tuple[float, float]]] = {}
    row_shift: dict[float, tuple[float, float]] = {}
    for key, text, x, y in values:
        if not text:
            continue
        jx, jy = row_shift.setdefault(
            y, (rng.uniform(-printing.jitter_x, printing.jitter_x), rng.uniform(-printing.jitter_y, printing.jitter_y))
        )
        left, middle = x * CARD_W + printing.dx + jx, y * CARD_H + printing.dy + jy
        ascii_only = all(ord(c) < 128 for c in text)
        fnt = font("mono" if ascii_only and printing.dot_matrix else style, 40 if len(text) < 24 else 36)
        lines = [text[:WRAP_AT], text[WRAP_AT:]] if key in WRAPPED and len(text) > WRAP_AT + 4 else [text]
        needle = printing.dot_matrix and ascii_only
        extents = [
            (_needle_text if needle else _text)(draw, (left, middle + i * 48), line, fnt, (*ink, 255))  # type: ignore[arg-type]
            for i, line in enumerate(lines)
        ]
        x0, y0 = min(e[0] for e in extents), min(e[1] for e in extents)
        x1, y1 = max(e[2] for e in extents), max(e[3] for e in extents)
        boxes[key] = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    if printing.dot_matrix:
        layer = _dot_matrix(layer)
    return layer, boxes


def _needle_text(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    fnt: ImageFont.FreeTypeFont,
    fill: tuple[int, int, int],
) -> tuple[float, float, float, float]:
    """ASCII as a needle printer's font prints it: zeros slashed, and the unit ``kg`` with a single-storey ``g``
    closed like a ``9`` and sitting low (OCR reads ``k9``)."""
    unit_g = text.endswith("kg") and text[:-2].isdigit()
    body = text[:-1] if unit_g else text
    box = _text(draw, xy, body, fnt, fill)
    size = fnt.size
    for i, char in enumerate(body):
        if char == "0":
            x0, width = xy[0] + fnt.getlength(body[:i]), fnt.getlength("0")
            stroke = [(x0 + 0.25 * width, xy[1] + 0.3 * size), (x0 + 0.75 * width, xy[1] - 0.3 * size)]
            draw.line(stroke, fill=fill, width=max(2, round(size / 14)))
    if unit_g:
        g_box = _text(draw, (box[2], xy[1] + 0.22 * size), "9", fnt, fill)
        box = (box[0], min(box[1], g_box[1]), g_box[2], max(box[3], g_box[3]))
    return box


def _tilted_stamp(
    layer: Image.Image, corners: list[tuple[float, float]], rng: random.Random
) -> list[tuple[float, float]]:
    """The inspection stamp as real cards carry it: its text boxed, the whole stamp turned a few degrees. Turns the
    stamp's part of ``layer`` in place; its new corners."""
    (x0, y0), _, (x1, y1), _ = corners
    margin = 40
    region = (round(x0) - margin, round(y0) - margin, round(x1) + margin, round(y1) + margin)
    stamp = layer.crop(region)
    ImageDraw.Draw(stamp).rectangle(
        [margin - 12, margin - 10, stamp.width - margin + 12, stamp.height - margin + 10],
        outline=(*layer.getpixel((0, 0))[:3], 255),  # type: ignore[index]
        width=3,
    )
    angle = rng.uniform(-6.0, 6.0)
    layer.paste(Image.new("RGBA", stamp.size, (0, 0, 0, 0)), region[:2])
    turned = stamp.rotate(angle, resample=Image.Resampling.BICUBIC)  # counter-clockwise, about its centre
    layer.alpha_composite(turned, region[:2])
    cx, cy = (region[0] + region[2]) / 2, (region[1] + region[3]) / 2
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    return [(cx + (x - cx) * cos + (y - cy) * sin, cy - (x - cx) * sin + (y - cy) * cos) for x, y in corners]


def _labels(
    draw: ImageDraw.ImageDraw,
    rows: list[tuple[str, str, float, float, float]],
    rng: random.Random,
    ink: tuple[int, int, int],
) -> None:
    """Chinese labels with their English sub-labels and dotted value lines (sizes vary between print runs)."""
    zh_size, en_size = rng.randint(26, 32), rng.randint(15, 19)
    for zh, en, lx, _vx, y in rows:
        _text(draw, (lx * CARD_W, y * CARD_H - 14), _spaced(zh, rng), font("serif", zh_size), ink)
        _text(draw, (lx * CARD_W, y * CARD_H + 20), en, font("serif", en_size), ink)


def render_front(values: LicenceValues, rng: random.Random, printing: Printing) -> Page:
    img = _background(rng)
    draw = ImageDraw.Draw(img)
    label_ink = (rng.randint(30, 70),) * 3
    _text(draw, (CARD_W * 0.5 - 330, CARD_H * 0.085), "中华人民共和国机动车行驶证", font("serif_bold", 58), label_ink)
    _text(
        draw,
        (CARD_W * 0.5 - 300, CARD_H * 0.15),
        "Vehicle License of the People's Republic of China",
        font("serif", 26),
        label_ink,
    )
    _labels(draw, [(zh, en, lx, vx, y) for _, zh, en, lx, vx, y in FRONT_LABELS], rng, label_ink)
    for key, _, _, _, vx, y in FRONT_LABELS:
        end = {"number": 0.42, "name": 0.96, "address": 0.96, "use_character": 0.35}.get(key, 0.96)
        draw.line([(vx * CARD_W - 10, y * CARD_H + 30), (end * CARD_W, y * CARD_H + 30)], fill=label_ink, width=1)
    seal = [0.035 * CARD_W, 0.64 * CARD_H, 0.265 * CARD_W, 0.97 * CARD_H]
    red = (rng.randint(200, 235), rng.randint(20, 60), rng.randint(20, 60))
    draw.rectangle(seal, outline=red, width=5)
    rows = values.seal_rows
    row_h = (seal[3] - seal[1]) / len(rows)
    seal_font = font("serif_bold", 46)
    for i, row in enumerate(rows):
        _text(draw, (seal[0] + 14, seal[1] + row_h * (i + 0.5)), row, seal_font, red)
    seal_box = [(seal[0], seal[1]), (seal[2], seal[1]), (seal[2], seal[3]), (seal[0], seal[3])]
    entries = [(k, values.front[k], vx, y) for k, _, _, _, vx, y in FRONT_LABELS]
    layer, boxes = _values_layer(entries, rng, printing)
    img.paste(layer, (0, 0), layer)
    boxes["issuing_authority"] = seal_box
    return Page(img, boxes)


def render_back(values: LicenceValues, rng: random.Random, printing: Printing) -> Page:
    img = _background(rng)
    draw = ImageDraw.Draw(img)
    label_ink = (rng.randint(30, 70),) * 3
    _labels(draw, [(zh, en, lx, vx, y) for _, zh, en, lx, vx, y in BACK_LABELS], rng, label_ink)
    for key, _, _, lx, vx, y in BACK_LABELS:
        end = 0.48 if lx < 0.3 and key not in ("remarks", "inspection_record") else 0.97
        draw.line([(vx * CARD_W - 10, y * CARD_H + 28), (end * CARD_W, y * CARD_H + 28)], fill=label_ink, width=1)
    entries = [(k, values.back[k], vx, y) for k, _, _, _, vx, y in BACK_LABELS]
    layer, boxes = _values_layer(entries, rng, printing)
    if "inspection_record" in boxes:  # its own generator: the page's draws stay as they were
        boxes["inspection_record"] = _tilted_stamp(
            layer, boxes["inspection_record"], random.Random(values.back["code_number"])
        )
    img.paste(layer, (0, 0), layer)
    code = values.back["code_number"]
    bars_rng = random.Random(code)
    x = 0.45 * CARD_W
    while x < 0.96 * CARD_W:
        width = bars_rng.choice([2, 3, 4, 6])
        draw.rectangle([x, 0.8 * CARD_H, x + width - 1, 0.9 * CARD_H], fill=(15, 15, 15))
        x += width + bars_rng.choice([2, 3, 4, 5])
    digits = "*" + "".join(f"{d} " for d in code).strip() + "*"
    box = _text(draw, (0.47 * CARD_W, 0.94 * CARD_H), digits, font("mono", 30), (20, 20, 20))
    boxes["code_number"] = [(box[0], box[1]), (box[2], box[1]), (box[2], box[3]), (box[0], box[3])]
    return Page(img, boxes)


# -- degradations -----------------------------------------------------------------------------------------
def _solve_homography(src: list[tuple[float, float]], dst: list[tuple[float, float]]) -> list[float]:
    """The 8 coefficients mapping ``src`` points to ``dst`` (Gaussian elimination, 4 point pairs)."""
    rows: list[list[float]] = []
    for (x, y), (u, v) in zip(src, dst, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y, u])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y, v])
    n = 8
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(rows[r][col]))
        rows[col], rows[pivot] = rows[pivot], rows[col]
        for r in range(n):
            if r != col:
                factor = rows[r][col] / rows[col][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[col], strict=True)]
    return [rows[i][8] / rows[i][i] for i in range(n)]


def _apply(h: list[float], point: tuple[float, float]) -> tuple[float, float]:
    x, y = point
    w = h[6] * x + h[7] * y + 1
    return (h[0] * x + h[1] * y + h[2]) / w, (h[3] * x + h[4] * y + h[5]) / w


def warp(
    page: Page, corners: list[tuple[float, float]], size: tuple[int, int], background: Image.Image | None = None
) -> Page:
    """Place the page's four corners at ``corners`` on a canvas of ``size`` (perspective warp)."""
    w, h = page.image.size
    src = [(0.0, 0.0), (float(w), 0.0), (float(w), float(h)), (0.0, float(h))]
    inverse = _solve_homography(corners, src)
    forward = _solve_homography(src, corners)
    warped = page.image.convert("RGBA").transform(size, Image.Transform.PERSPECTIVE, inverse, Image.Resampling.BICUBIC)
    canvas = background.copy() if background is not None else Image.new("RGB", size, (250, 250, 250))
    canvas.paste(warped, (0, 0), warped)
    boxes = {k: [_apply(forward, p) for p in v] for k, v in page.boxes.items()}
    return Page(canvas, boxes)


def _desk(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    tone = rng.choice([(40, 32, 28), (95, 70, 45), (30, 30, 35), (120, 110, 100)])
    img = Image.new("RGB", size, tone)
    draw = ImageDraw.Draw(img)
    for _ in range(400):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        shade = tuple(max(0, min(255, c + rng.randint(-12, 12))) for c in tone)
        draw.line([(x, y), (x + rng.randint(20, 160), y + rng.randint(-3, 3))], fill=shade, width=rng.randint(1, 3))
    return img.filter(ImageFilter.GaussianBlur(1.2))


def _jitter(rng: random.Random, corners: list[tuple[float, float]], amount: float) -> list[tuple[float, float]]:
    return [(x + rng.uniform(-amount, amount), y + rng.uniform(-amount, amount)) for x, y in corners]


def _rotated(w: float, h: float, degrees: float, margin: float) -> tuple[list[tuple[float, float]], tuple[int, int]]:
    angle = math.radians(degrees)
    cx, cy = w / 2, h / 2
    pts = [(0, 0), (w, 0), (w, h), (0, h)]
    rot = [
        (
            cx + (x - cx) * math.cos(angle) - (y - cy) * math.sin(angle),
            cy + (x - cx) * math.sin(angle) + (y - cy) * math.cos(angle),
        )
        for x, y in pts
    ]
    min_x, min_y = min(p[0] for p in rot), min(p[1] for p in rot)
    rot = [(x - min_x + margin, y - min_y + margin) for x, y in rot]
    size = (int(max(p[0] for p in rot) + margin), int(max(p[1] for p in rot) + margin))
    return rot, size


def _noise(img: Image.Image, rng: random.Random, sigma: float) -> Image.Image:
    noise = Image.effect_noise(img.size, sigma).convert("RGB")
    mixed = Image.blend(img, noise, 0.18)
    draw = ImageDraw.Draw(mixed)
    for _ in range(img.width * img.height // 900):
        draw.point((rng.randrange(img.width), rng.randrange(img.height)), fill=rng.choice([(0, 0, 0), (255,) * 3]))
    return mixed


def _glare(img: Image.Image, rng: random.Random) -> Image.Image:
    overlay = Image.new("L", img.size, 0)
    draw = ImageDraw.Draw(overlay)
    cx, cy = rng.randrange(img.width), rng.randrange(img.height)
    r = rng.randint(img.width // 10, img.width // 5)
    draw.ellipse([cx - r, cy - r // 2, cx + r, cy + r // 2], fill=rng.randint(60, 110))
    overlay = overlay.filter(ImageFilter.GaussianBlur(r / 3))
    return Image.composite(Image.new("RGB", img.size, (255, 255, 255)), img, overlay)


def _scale(page: Page, width: int) -> Page:
    factor = width / page.image.width
    img = page.image.resize((width, round(page.image.height * factor)), Image.Resampling.LANCZOS)
    return Page(img, {k: [(x * factor, y * factor) for x, y in v] for k, v in page.boxes.items()})


def _worn(img: Image.Image, rng: random.Random) -> Image.Image:
    """A card carried for years: faded ink, scratches, a crease and a stain."""
    faded = Image.blend(img, Image.new("RGB", img.size, (236, 238, 232)), rng.uniform(0.25, 0.4))
    draw = ImageDraw.Draw(faded)
    for _ in range(rng.randint(25, 50)):
        x, y = rng.randrange(img.width), rng.randrange(img.height)
        length, angle = rng.uniform(30, 260), rng.uniform(0, math.pi)
        end = (x + length * math.cos(angle), y + length * math.sin(angle))
        draw.line([(x, y), end], fill=(rng.randint(215, 250),) * 3, width=rng.choice([1, 1, 2]))
    crease_y = rng.uniform(0.3, 0.7) * img.height
    draw.line([(0, crease_y), (img.width, crease_y + rng.uniform(-40, 40))], fill=(250, 250, 245), width=3)
    stain = Image.new("L", img.size, 0)
    sx, sy, r = rng.randrange(img.width), rng.randrange(img.height), rng.randint(40, 110)
    ImageDraw.Draw(stain).ellipse([sx - r, sy - r, sx + r, sy + r], fill=rng.randint(50, 90))
    stain = stain.filter(ImageFilter.GaussianBlur(r / 3))
    return Image.composite(Image.new("RGB", img.size, (150, 120, 70)), faded, stain)


def _sleeve(img: Image.Image, rng: random.Random) -> Image.Image:
    """A plastic sleeve: a milky haze, a colour cast and bright glare streaks across the card."""
    hazed = Image.blend(img, Image.new("RGB", img.size, (245, 248, 255)), rng.uniform(0.08, 0.18))
    streaks = Image.new("L", img.size, 0)
    draw = ImageDraw.Draw(streaks)
    for _ in range(rng.randint(1, 2)):
        x = rng.uniform(0, img.width)
        width = rng.uniform(0.04, 0.1) * img.width
        slant = rng.uniform(-0.5, 0.5) * img.height
        draw.polygon(
            [(x, 0), (x + width, 0), (x + width + slant, img.height), (x + slant, img.height)],
            fill=rng.randint(90, 150),
        )
    streaks = streaks.filter(ImageFilter.GaussianBlur(img.width / 60))
    glared = Image.composite(Image.new("RGB", img.size, (255, 255, 255)), hazed, streaks)
    return glared.filter(ImageFilter.GaussianBlur(0.6))


def _strip(img: Image.Image, rng: random.Random) -> Image.Image:
    """The translucent blue security strip printed across the label column or the values."""
    mask = Image.new("L", img.size, 0)
    x = rng.uniform(0.05, 0.5) * img.width
    width = rng.uniform(0.035, 0.07) * img.width
    slant = rng.uniform(-0.08, 0.08) * img.width
    ImageDraw.Draw(mask).polygon(
        [(x, 0), (x + width, 0), (x + width + slant, img.height), (x + slant, img.height)],
        fill=rng.randint(90, 140),
    )
    mask = mask.filter(ImageFilter.GaussianBlur(3))
    tint = Image.new("RGB", img.size, (rng.randint(60, 110), rng.randint(130, 170), rng.randint(200, 240)))
    return Image.composite(tint, img, mask)


def _wallet(page: Page, rng: random.Random) -> Page:
    """The card behind a wallet's window: leather over one or two edges, a clear plastic window with glare."""
    img = _sleeve(page.image, rng)
    draw = ImageDraw.Draw(img)
    leather = rng.choice([(45, 30, 25), (20, 20, 22), (90, 55, 30)])
    w, h = img.size
    for edge in rng.sample(["top", "bottom", "left", "right"], rng.randint(1, 2)):
        depth = rng.uniform(0.02, 0.06)
        box = {
            "top": [0, 0, w, depth * h],
            "bottom": [0, (1 - depth) * h, w, h],
            "left": [0, 0, depth * w, h],
            "right": [(1 - depth) * w, 0, w, h],
        }[edge]
        draw.rectangle(box, fill=leather)
    corner = rng.uniform(0.06, 0.12) * w
    cx, cy = rng.choice([(0, 0), (w, 0), (0, h), (w, h)])
    draw.polygon([(cx, cy), (abs(cx - corner), cy), (cx, abs(cy - corner))], fill=leather)  # the pocket's corner
    return Page(img, page.boxes)


def degrade(page: Page, variant: str, rng: random.Random) -> tuple[Page, int | None]:
    """Apply ``variant``; returns the page and the JPEG quality to encode with (``None``: PNG)."""
    w, h = page.image.size
    quality: int | None = None
    if variant == "rot":
        corners, size = _rotated(w, h, rng.choice([-1, 1]) * rng.uniform(3, 8), 30)
        page = warp(page, corners, size)
    elif variant == "blur":
        page = Page(page.image.filter(ImageFilter.GaussianBlur(rng.uniform(1.6, 2.4))), page.boxes)
    elif variant == "jpeg":
        quality = rng.randint(10, 18)
    elif variant == "noise":
        page = Page(_noise(page.image, rng, rng.uniform(18, 28)), page.boxes)
    elif variant == "persp":
        corners = _jitter(rng, [(40, 40), (w + 40, 40), (w + 40, h + 40), (40, h + 40)], 0.1 * min(w, h) / 2)
        page = warp(page, corners, (w + 80, h + 80))
    elif variant == "lowres":
        page = _scale(page, rng.randint(520, 640))
    elif variant == "misreg":  # the misregistration is printed by the renderer; photographed as usual
        quality = rng.randint(70, 90)
    elif variant == "worn":
        page, quality = Page(_worn(page.image, rng), page.boxes), rng.randint(70, 90)
    elif variant == "sleeve":
        page, quality = Page(_sleeve(page.image, rng), page.boxes), rng.randint(70, 90)
    elif variant == "strip":
        page, quality = Page(_strip(page.image, rng), page.boxes), rng.randint(70, 90)
    elif variant == "wallet":
        page, quality = _wallet(page, rng), rng.randint(70, 90)
    elif variant == "scan":  # a flatbed scan at ~440 px wide: white margin, slightly crooked
        corners, size = _rotated(w, h, rng.uniform(-1.5, 1.5), 20)
        page = _scale(
            warp(page, corners, size, background=Image.new("RGB", size, (252, 252, 252))), rng.randint(420, 460)
        )
        quality = rng.randint(70, 85)
    elif variant == "desk":  # photographed at an angle: the far edge shorter, the card turned on the desk
        size = (1600, 1200)
        card_w = rng.uniform(950, 1150)
        card_h = card_w * h / w
        x0, y0 = (size[0] - card_w) / 2, (size[1] - card_h) / 2
        squeeze = rng.uniform(0.08, 0.18) * card_w
        flat = [(x0 + squeeze, y0), (x0 + card_w - squeeze, y0), (x0 + card_w, y0 + card_h), (x0, y0 + card_h)]
        turn = math.radians(rng.uniform(-8, 8))
        cx, cy = size[0] / 2, size[1] / 2
        corners = [
            (
                cx + (x - cx) * math.cos(turn) - (y - cy) * math.sin(turn),
                cy + (x - cx) * math.sin(turn) + (y - cy) * math.cos(turn),
            )
            for x, y in flat
        ]
        page = warp(page, corners, size, background=_desk(rng, size))
        page, quality = Page(_glare(page.image, rng), page.boxes), 85
    elif variant in ("photo", "hard"):
        size = (1600, 1200)
        card_w = rng.randint(1000, 1200)
        card_h = card_w * h / w
        x0, y0 = rng.uniform(40, size[0] - card_w - 40), rng.uniform(40, size[1] - card_h - 40)
        corners, _ = _rotated(card_w, card_h, rng.uniform(-6, 6), 0)
        corners = _jitter(rng, [(x + x0, y + y0) for x, y in corners], 25)
        page = warp(page, corners, size, background=_desk(rng, size))
        page = Page(_glare(page.image, rng), page.boxes)
        quality = 85
        if variant == "hard":
            page = _scale(page, 960)
            page = Page(page.image.filter(ImageFilter.GaussianBlur(rng.uniform(0.8, 1.4))), page.boxes)
            quality = rng.randint(25, 35)
    return page, quality


def encode(image: Image.Image, quality: int | None) -> bytes:
    out = io.BytesIO()
    if quality is None:
        image.save(out, format="PNG", optimize=False)
    else:
        image.save(out, format="JPEG", quality=quality)
    return out.getvalue()


@dataclass(frozen=True)
class Sample:
    """One generated image with its ground truth."""

    name: str
    side: str
    variant: str
    image: bytes
    truth: dict[str, str]
    reading: LicenseReading

    def answer(self) -> dict[str, Any]:
        return self.reading.model_dump(mode="json")


def _int_boxes(boxes: dict[str, list[tuple[float, float]]]) -> dict[str, list[list[int]]]:
    return {k: [[round(x), round(y)] for x, y in v] for k, v in boxes.items()}


def generate(
    n_vehicles: int, seed: int = 0, variants: tuple[str, ...] = VARIANTS, sides: tuple[str, ...] = ("front", "back")
) -> Iterator[Sample]:
    """``n_vehicles`` × sides × variants samples, deterministic for a seed."""
    for vehicle in range(n_vehicles):
        rng = random.Random(f"{seed}-{vehicle}")
        values = random_licence(rng)
        dot_matrix = rng.random() < 0.5
        for side in sides:
            render = render_front if side == "front" else render_back
            page_rng = random.Random(f"{seed}-{vehicle}-{side}")
            base = render(values, page_rng, Printing.draw(page_rng, dot_matrix, misregistered=False))
            for variant in variants:
                var_rng = random.Random(f"{seed}-{vehicle}-{side}-{variant}")
                source = base
                if variant == "misreg":
                    source = render(values, var_rng, Printing.draw(var_rng, dot_matrix, misregistered=True))
                page, quality = degrade(source, variant, var_rng)
                truth = values.front if side == "front" else values.back
                reading_page = PageReading(fields=dict(truth), text_location=_int_boxes(page.boxes))
                reading = LicenseReading(**{side: reading_page})
                name = f"v{vehicle:03d}_{side}_{variant}.{'png' if quality is None else 'jpg'}"
                yield Sample(name, side, variant, encode(page.image, quality), dict(truth), reading)
