"""The licence domain, at the bottom of the package: what a 行驶证 holds and the rules it obeys.

``schema`` (field names, sides, options, provinces), ``plates``, ``vin``, ``normalise``, ``rules`` (a validated
:class:`~.record.VehicleRecord` from any result: normalised, repaired never silently, checked), ``pairing`` (front and
back pages of one vehicle) and ``pii`` (redaction). No Airflow import, nothing from the layers above. The names
below load on first use, so importing ``licence.schema`` (as a DAG file does, through the operator) stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "merge_pages": "rules", "to_record": "rules", "Finding": "record", "VehicleRecord": "record",
    "Vehicle": "pairing", "pair_pages": "pairing", "PII_FIELDS": "pii", "redact": "pii",
}  # fmt: skip
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
