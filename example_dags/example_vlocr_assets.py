"""A DAG pair joined by an asset: the OCR DAG writes records for a folder (glob items, expanded by the operator)
and emits an asset event carrying the batch manifest; a downstream DAG is scheduled on that asset and reads the
manifest (counts per outcome, the results' URI) from the triggering event, never from XCom."""

from __future__ import annotations

import os
from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, task

from airflow_provider_vlocr.operators.vehicle_license_ocr import VehicleLicenseOcrOperator

FOLDER = os.environ.get("VLOCR_EXAMPLE_FOLDER", "file:///tmp/vlocr-samples")
RECORDS = Asset(name="vlocr_licence_records", uri="file:///tmp/vlocr-records/licences.jsonl")

with DAG(
    dag_id="vlocr_example_asset_producer",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={"folder": FOLDER},
    tags=["vlocr", "example"],
) as producer:
    # [START howto_operator_vlocr_outlets]
    VehicleLicenseOcrOperator(
        task_id="recognize_folder",
        images=[  # glob items: the image files they match, in sorted order, each page with its side
            {"path": "{{ params.folder }}/*_front*", "side": "front"},
            {"path": "{{ params.folder }}/*_back*", "side": "back"},
        ],
        output_path="{{ params.folder }}/results/{{ run_id }}.jsonl",
        records=True,
        on_error="continue",
        max_error_ratio=1.0,
        allowed_local_roots=[FOLDER],
        outlets=[RECORDS],  # its asset event's extra gets the manifest
    )
    # [END howto_operator_vlocr_outlets]

with DAG(
    dag_id="vlocr_example_asset_consumer",
    schedule=[RECORDS],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["vlocr", "example"],
) as consumer:

    @task
    def new_records(triggering_asset_events: Any = None) -> list[dict[str, Any]]:
        """What arrived: one manifest per triggering event (counts and the results' URI, no personal data)."""
        return [
            {"results": event.extra.get("results"), "ok": event.extra.get("ok"), "total": event.extra.get("total")}
            for events in (triggering_asset_events or {}).values()
            for event in events
        ]

    new_records()
