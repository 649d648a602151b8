"""Owner name and address are personal data: masked or hashed wherever results leave the task."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from .schema import REDACTION_MODES

PII_FIELDS = ("name", "address", "owner_name", "owner_address")
MODES = REDACTION_MODES


def mask_value(value: str) -> str:
    """Keep the first character (a surname, a province) and hide the rest: ``穆高寒`` -> ``穆**``."""
    if len(value) <= 1:
        return "*"
    keep = 1 if len(value) <= 4 else 3
    return value[:keep] + "*" * min(len(value) - keep, 8)


def hash_value(value: str, salt: str = "") -> str:
    """A stable pseudonym (HMAC-SHA256 with ``salt``): joinable across tables, not readable."""
    return "sha256:" + hmac.new(salt.encode("utf-8"), value.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def redact(data: Any, mode: str = "mask", *, salt: str = "") -> Any:
    """A copy of ``data`` (nested dicts/lists) with every PII field masked or hashed."""
    if mode not in MODES:
        raise ValueError(f"redact_pii must be one of {MODES}, got {mode!r}")
    if mode == "none":
        return data
    if isinstance(data, Mapping):
        out = {}
        for key, value in data.items():
            if key in PII_FIELDS and isinstance(value, str) and value:
                out[key] = mask_value(value) if mode == "mask" else hash_value(value, salt)
            else:
                out[key] = redact(value, mode, salt=salt)
        return out
    if isinstance(data, list):
        return [redact(item, mode, salt=salt) for item in data]
    return data
