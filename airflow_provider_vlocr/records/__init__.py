"""Validated vehicle records: normalised values, validation findings, front/back merge, PII redaction.

No Airflow import here: ``to_record`` works on any result of either engine (model or plain dict).
"""

from __future__ import annotations

from .build import merge_pages, to_record
from .model import Finding, VehicleRecord
from .pairing import Vehicle, pair_pages
from .pii import PII_FIELDS, redact

__all__ = ["PII_FIELDS", "Finding", "Vehicle", "VehicleRecord", "merge_pages", "pair_pages", "redact", "to_record"]
