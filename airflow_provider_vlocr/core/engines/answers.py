"""An engine that answers from a file of known images (sha256 of the bytes -> reading), never inventing values."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .base import ReadingEngine, image_digest
from .factory import EngineContext
from .reading import LicenseReading, unsupported


class AnswersEngine(ReadingEngine):
    """Looks each image up by sha256; an unknown image gets AIS.0104 like an unreadable picture."""

    name = "answers"

    def __init__(
        self,
        answers: Mapping[str, Any] | None = None,
        *,
        allowed_url_hosts: Iterable[str] | None = None,
    ) -> None:
        super().__init__(allowed_url_hosts=allowed_url_hosts)
        self._lock = threading.Lock()
        self._answers: dict[str, LicenseReading] = {}
        for digest, reading in (answers or {}).items():
            self.add(digest, reading)

    @classmethod
    def from_file(cls, path: str | Path, **kwargs: Any) -> AnswersEngine:
        """Load ``{"<sha256>": <LicenseReading JSON>, ...}``."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"answers file {path} must hold a JSON object keyed by sha256")
        return cls(data, **kwargs)

    def add(self, digest_or_image: str | bytes, reading: LicenseReading | Mapping[str, Any]) -> str:
        """Register the reading for an image (bytes) or its sha256; returns the digest."""
        digest = image_digest(digest_or_image) if isinstance(digest_or_image, bytes) else digest_or_image.lower()
        model = reading if isinstance(reading, LicenseReading) else LicenseReading.model_validate(reading)
        with self._lock:
            self._answers[digest] = model
        return digest

    def __len__(self) -> int:
        return len(self._answers)

    def read(self, image: bytes, *, image_name: str, side_hint: str | None) -> LicenseReading:
        with self._lock:
            reading = self._answers.get(image_digest(image))
        if reading is None:
            raise unsupported("image not in the answers file")
        return reading


def create_engine(context: EngineContext) -> AnswersEngine:
    """The registry's factory: answers from ``context.answers``."""
    return AnswersEngine(context.answers, allowed_url_hosts=context.allowed_url_hosts)
