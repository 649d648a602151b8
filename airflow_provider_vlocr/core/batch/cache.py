"""Results shared across runs, DAGs and workers: one photo is paid for once.

Keyed by the sha256 of the image bytes, the engine and every option that changes the answer; stored as one JSON
file per key under a folder of any store (the injected :class:`~.storage.Storage`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ..models import RecognizeOptions
from .storage import Storage


class ResultCache:
    """``get``/``put`` API-shaped results by :meth:`key`; a broken entry reads as a miss."""

    def __init__(self, root: str, storage: Storage) -> None:
        self.root = root.rstrip("/")
        self.storage = storage

    @staticmethod
    def key(image: bytes, engine: str, options: RecognizeOptions) -> str:
        answer_changing = json.dumps({"engine": engine, **options.body_fields()}, sort_keys=True)
        return hashlib.sha256(hashlib.sha256(image).digest() + answer_changing.encode("utf-8")).hexdigest()

    def _uri(self, key: str) -> str:
        return f"{self.root}/{key[:2]}/{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        uri = self._uri(key)
        try:
            if not self.storage.exists(uri):
                return None
            with self.storage.open_text(uri, "r") as handle:
                entry = json.load(handle)
        except (OSError, ValueError):
            return None
        return entry if isinstance(entry, dict) and isinstance(entry.get("result"), dict) else None

    def put(self, key: str, entry: dict[str, Any]) -> None:
        with self.storage.open_text(self._uri(key), "w") as handle:
            json.dump(entry, handle, ensure_ascii=False)
