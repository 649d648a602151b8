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


def base64_length(size: int) -> int:
    """Length of the base64 encoding of ``size`` bytes."""
    return 4 * ((size + 2) // 3)


def check_image(data: bytes, name: str) -> ImageInfo:
    """Check format by content, base64 size and pixel limits; raise :class:`ImageValidationError`."""
    if not data:
        raise ImageValidationError(name, "non-empty", "the image has no bytes")
    fmt = sniff_format(data)
    if fmt is None:
        raise ImageValidationError(
            name, "format", f"content is not {'/'.join(SUPPORTED_FORMATS)} (leading bytes {data[:8].hex()})"
        )
    b64 = base64_length(len(data))
    if b64 > MAX_BASE64_BYTES:
        raise ImageValidationError(
            name, "max-size", f"base64 size {b64} bytes exceeds the API limit of {MAX_BASE64_BYTES} bytes"
        )
    from PIL import Image, UnidentifiedImageError  # lazy: Pillow is heavy for DAG parsing

    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ImageValidationError(name, "decodable", f"{fmt} header cannot be read: {exc}") from None
    for label, side in (("width", width), ("height", height)):
        if side < MIN_SIDE_PX:
            raise ImageValidationError(name, "min-side", f"{label} {side} px is below {MIN_SIDE_PX} px")
        if side > MAX_SIDE_PX:
            raise ImageValidationError(name, "max-side", f"{label} {side} px is above {MAX_SIDE_PX} px")
    return ImageInfo(fmt, width, height, len(data), b64)


def encode_image(data: bytes) -> str:
    """Base64 without a ``data:`` prefix, as the API wants it."""
    return base64.b64encode(data).decode("ascii")
