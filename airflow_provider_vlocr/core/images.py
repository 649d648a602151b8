"""Local checks on an image before it is uploaded, so a bad image never costs a billed call."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

from .errors import ImageValidationError

MAX_BASE64_BYTES = 10 * 1024 * 1024
MIN_SIDE_PX = 100
MAX_SIDE_PX = 8000
SUPPORTED_FORMATS = ("JPEG", "PNG", "BMP", "TIFF")


@dataclass(frozen=True)
class ImageInfo:
    """What the checks learnt about an image."""

    format: str
    width: int
    height: int
    size_bytes: int
    base64_bytes: int


def sniff_format(data: bytes) -> str | None:
    """The real format from the leading bytes, whatever the file name says."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"BM") and len(data) > 26:
        return "BMP"
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return "TIFF"
    return None


# Formats the API refuses, named (never shown) in error messages.
_OTHER_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"GIF8", "GIF"),
    (b"%PDF", "PDF"),
    (b"PK\x03\x04", "ZIP"),
    (b"\x1f\x8b", "gzip"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"8BPS", "PSD"),
    (b"\xff\x0a", "JPEG XL"),
)


def describe_content(data: bytes) -> str:
    """A name for what ``data`` is (``GIF``, ``WebP``, ``HEIF``, ``text``, ``binary``): never the bytes."""
    fmt = sniff_format(data)
    if fmt:
        return fmt
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    if data[4:8] == b"ftyp":
        return "HEIF/AVIF/MP4"
    for signature, name in _OTHER_SIGNATURES:
        if data.startswith(signature):
            return name
    head = data[:512]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "binary data"
    lowered = text.lstrip().lower()
    if lowered.startswith(("<!doctype html", "<html")):
        return "HTML"
    if lowered.startswith("<"):
        return "XML/markup text"
    return "text" if text.isprintable() or all(c.isprintable() or c.isspace() for c in text) else "binary data"


def truncation(data: bytes, fmt: str) -> str | None:
    """Why ``data`` is cut short, from its structure (end markers, declared sizes), or ``None``.

    Cheap: searches for markers (C speed), decodes nothing.
    """
    if fmt == "PNG":
        if data.rfind(b"IEND", max(0, len(data) - 1024)) < 0:
            return "the PNG has no IEND chunk: the file is truncated"
    elif fmt == "JPEG":
        last_end = data.rfind(b"\xff\xd9")  # a scan (SOS) after the last end-of-image marker was cut short
        if last_end < 0 or data.find(b"\xff\xda", last_end) >= 0:
            return "the JPEG's last scan has no end-of-image marker: the file is truncated"
    elif fmt == "BMP":
        declared = int.from_bytes(data[2:6], "little")
        offset = int.from_bytes(data[10:14], "little")
        if declared > len(data) or offset >= len(data):
            return f"the BMP declares {declared} bytes but has {len(data)}: the file is truncated"
    return None


def base64_length(size: int) -> int:
    """Length of the base64 encoding of ``size`` bytes."""
    return 4 * ((size + 2) // 3)


SIZE_RULES = frozenset({"min-side", "max-side", "max-size"})


def check_image(data: bytes, name: str, *, max_side: int = MAX_SIDE_PX) -> ImageInfo:
    """Check format by content, completeness, base64 size and pixel limits; raise :class:`ImageValidationError`
    (its ``rule`` is in :data:`SIZE_RULES` for size problems)."""
    if not data:
        raise ImageValidationError(name, "non-empty", "the image has no bytes")
    fmt = sniff_format(data)
    if fmt is None:
        raise ImageValidationError(
            name, "format", f"content is {describe_content(data)}, not {'/'.join(SUPPORTED_FORMATS)}"
        )
    b64 = base64_length(len(data))
    if b64 > MAX_BASE64_BYTES:
        raise ImageValidationError(
            name, "max-size", f"base64 size {b64} bytes exceeds the API limit of {MAX_BASE64_BYTES} bytes"
        )
    cut = truncation(data, fmt)
    if cut:
        raise ImageValidationError(name, "complete", cut)
    size = header_size(data, fmt)  # PNG and JPEG: read from the header directly, no Pillow objects per call
    if size is not None:
        return _check_sides(name, fmt, size, max_side, len(data), b64)
    from PIL import Image, UnidentifiedImageError  # lazy: Pillow is heavy for DAG parsing

    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
            declared_end = _tiff_data_end(img) if fmt == "TIFF" else 0
    except Image.DecompressionBombError:
        raise ImageValidationError(name, "max-side", f"the {fmt} declares too many pixels to open") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ImageValidationError(
            name, "decodable", f"the {fmt} header cannot be read ({type(exc).__name__})"
        ) from None
    if declared_end > len(data):
        raise ImageValidationError(name, "complete", f"the TIFF declares {declared_end} bytes but has {len(data)}")
    return _check_sides(name, fmt, (width, height), max_side, len(data), b64)


def _check_sides(name: str, fmt: str, size: tuple[int, int], max_side: int, length: int, b64: int) -> ImageInfo:
    for label, side in zip(("width", "height"), size, strict=True):
        if side < MIN_SIDE_PX:
            raise ImageValidationError(name, "min-side", f"{label} {side} px is below {MIN_SIDE_PX} px")
        if side > max_side:
            raise ImageValidationError(name, "max-side", f"{label} {side} px is above {max_side} px")
    return ImageInfo(fmt, size[0], size[1], length, b64)


_SOF_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def header_size(data: bytes, fmt: str) -> tuple[int, int] | None:
    """``(width, height)`` from a PNG's IHDR or a JPEG's start-of-frame segment; ``None`` when it cannot tell
    (other formats, odd files: Pillow then decides). EXIF rotation does not change the API's pixel limits."""
    if fmt == "PNG":
        if data[12:16] != b"IHDR":
            return None
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if fmt != "JPEG":
        return None
    at = 2
    while at + 9 < len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        if marker in _SOF_MARKERS:
            return int.from_bytes(data[at + 7 : at + 9], "big"), int.from_bytes(data[at + 5 : at + 7], "big")
        if marker == 0xDA or length < 2:  # scan data before any frame header: let Pillow judge
            return None
        at += 2 + length
    return None


def _tiff_data_end(img: object) -> int:
    """Where the last strip or tile a TIFF declares ends (a truncated file ends before it)."""
    tags = getattr(img, "tag_v2", {})
    offsets = tags.get(273) or tags.get(324) or ()
    counts = tags.get(279) or tags.get(325) or ()
    if isinstance(offsets, int):
        offsets, counts = (offsets,), (counts,)
    return max((int(o) + int(c) for o, c in zip(offsets, counts, strict=False)), default=0)


def encode_image(data: bytes) -> bytes:
    """Base64 (as ASCII bytes) without a ``data:`` prefix, as the API wants it."""
    return base64.b64encode(data)


EXIF_ORIENTATION = 0x0112


def upright(data: bytes) -> bytes:
    """``data`` as it is meant to be seen: a photo whose EXIF Orientation tag asks for a turn or a mirror is
    transposed and re-encoded (same format, JPEG at quality 95, no EXIF kept); any other image is returned as is,
    the very same bytes. For engines that send the picture on (the cloud reads pixels, not tags)."""
    import io

    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data)) as opened:
        if opened.getexif().get(EXIF_ORIENTATION, 1) in (0, 1):
            return data
        fmt = opened.format or "PNG"
        turned = ImageOps.exif_transpose(opened)
    out = io.BytesIO()
    if fmt == "JPEG":
        turned.convert("RGB").save(out, "JPEG", quality=95)
    else:
        turned.save(out, fmt)
    return out.getvalue()
