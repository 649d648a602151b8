"""Asset events: when the user declares ``outlets``, each outlet asset's event carries the batch's manifest, so a
downstream DAG scheduled on that asset knows what arrived (counts per outcome, the results' URI) without XCom."""

from __future__ import annotations

from typing import Any

MANIFEST_KEYS = ("total", "ok", "error", "outcomes", "billed", "try_number", "engine", "output_path", "results",
                 "vehicles", "vehicles_invalid", "vehicles_unpaired", "vehicles_path", "needs_review", "doubtful",
                 "escalated", "cloud_errors")  # fmt: skip


def manifest_extra(summary: dict[str, Any]) -> dict[str, Any]:
    """The plain-JSON part of a batch summary that describes what was produced (no personal data in it)."""
    extra = {key: summary[key] for key in MANIFEST_KEYS if summary.get(key) is not None}
    extra.setdefault("results", summary.get("output_path"))  # XCom mode: no file; the results are in XCom
    return extra


def record_asset_events(context: Any, outlets: Any, summary: dict[str, Any]) -> list[str]:
    """Fill each outlet asset's event ``extra`` with the manifest; returns the asset URIs filled. Aliases are
    left to the user (an alias needs the concrete asset the run produced)."""
    from airflow.providers.common.compat.sdk import Asset

    events = context.get("outlet_events") if hasattr(context, "get") else None
    if events is None or not outlets:
        return []
    extra = manifest_extra(summary)
    filled = []
    for outlet in outlets:
        if isinstance(outlet, Asset):
            events[outlet].extra.update(extra)
            filled.append(outlet.uri)
    return filled
