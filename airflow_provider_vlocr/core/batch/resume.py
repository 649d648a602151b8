"""What the items of an earlier try may be reused for. Resume never reuses output shaped under other options: an
answer counts only for the same engine and API options (``answer_key``); an item shaped otherwise (records,
redaction: ``shaped_as``) is re-shaped from what was stored when that is possible, and recognised again when not
(a masked name cannot be unmasked)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from ..models import RecognizeOptions
from .items import Item


def answer_key(engine: str, options: RecognizeOptions) -> str:
    """The identity of an answer: the engine and every option that changes it."""
    text = json.dumps({"engine": engine, **options.body_fields()}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def shaped_as(records: bool, redact_pii: str) -> dict[str, Any]:
    """How an item was shaped when it left the task (stored with it)."""
    return {"records": records, "redact_pii": redact_pii}


@dataclass
class Resumable:
    """Earlier ``ok`` items by key that this try passes through, and what became of the others."""

    items: dict[str, Item] = field(default_factory=dict)
    reshaped: int = 0  # stored unredacted (or only with a record more): shaped again, not billed
    again: int = 0  # shaped in a way that cannot be undone (a mask), or not saying how: recognised again


def reusable(previous: Mapping[str, Item], shape: dict[str, Any]) -> Resumable:
    """Sort ``previous`` (the journal's last ``ok`` item per key) by how it was shaped; whether its answer was made
    under this try's engine and options is the pipeline's to judge (``answer_key``, by each input's asked side)."""
    found = Resumable()
    for key, item in previous.items():
        stored: dict[str, Any] = dict(item.get("shaped_as") or {})
        if stored == shape:  # passed through as stored (a re-shape is done with once it is stored)
            found.items[key] = cast(Item, {name: value for name, value in item.items() if name != "reshaped"})
        elif stored and stored.get("redact_pii") in (shape["redact_pii"], "none"):
            bare = {name: value for name, value in item.items() if name not in ("record", "shaped_as")}
            found.items[key] = cast(Item, {**bare, "reshaped": True})
            found.reshaped += 1
        else:
            found.again += 1
    return found
