"""Every day, OCR the photos in a storage folder and write JSON Lines next to them (XCom keeps the summary)."""

from __future__ import annotations

import os
from typing import Any

import pendulum
from airflow.sdk import DAG, ObjectStoragePath, task

from airflow_provider_vlocr.operators.vehicle_license_ocr import VehicleLicenseOcrOperator
from airflow_provider_vlocr.policies.retry import ocr_retry_policy

FOLDER = os.environ.get("VLOCR_EXAMPLE_FOLDER", "file:///tmp/vlocr-samples")

with DAG(
    dag_id="vlocr_example_scheduled",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    params={"folder": FOLDER},
    tags=["vlocr", "example"],
) as dag:

    @task
    def list_images(params: Any = None) -> list[dict[str, str]]:
        folder = ObjectStoragePath(params["folder"])
        files = sorted(str(p) for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        return [{"path": f, "side": "back" if "_back" in f else "front"} for f in files]

    # [START howto_operator_vlocr_jsonl]
    ocr = VehicleLicenseOcrOperator(
        task_id="recognize_folder",
        images=list_images(),
        output_path="{{ params.folder }}/results/{{ ds }}.jsonl",
        max_concurrency=4,
        on_error="continue",
        max_error_ratio=1.0,
        retries=2,
        # a spent quota waits for its window (rescheduled on Airflow 3.4+, no retry used), bad credentials fail at
        # once, outages retry; the operator's default, spelled out (None before Airflow 3.3: normal retries)
        retry_policy=ocr_retry_policy(),
        allowed_local_roots=[FOLDER],
    )
    # [END howto_operator_vlocr_jsonl]
