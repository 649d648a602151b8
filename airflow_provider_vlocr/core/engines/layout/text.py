"""Text normalisation of OCR boxes: half-width, Simplified Chinese, single spaces."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable


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
