"""A DAG fed hostile ``images`` by the tests: one narrow local root, one allowed download host (127.0.0.2)."""

from __future__ import annotations

import os
from pathlib import Path

from airflow.sdk import DAG

from airflow_provider_vlocr.operators.vehicle_license_ocr import VehicleLicenseOcrOperator

HOSTILE_ROOT = Path(os.environ["AIRFLOW_HOME"]) / "hostile-root"

with DAG(
    dag_id="vlocr_test_hostile",
    schedule=None,
    catchup=False,
    render_template_as_native_obj=True,
    params={
        "images": [],
        "side": "front",
        "return_text_location": False,
        "url_mode": "auto",
        "max_error_ratio": 1.0,
    },
    tags=["vlocr-test"],
) as dag:
    VehicleLicenseOcrOperator(
        task_id="ocr",
        images="{{ params.images }}",
        side="{{ params.side }}",
        return_text_location="{{ params.return_text_location }}",
        url_mode="{{ params.url_mode }}",
        max_error_ratio="{{ params.max_error_ratio }}",
        allowed_local_roots=[str(HOSTILE_ROOT)],
        download_allowed_hosts=["127.0.0.2"],
        download_timeout=1.5,
        max_concurrency=8,
        retry={"max_attempts": 2, "initial_delay": 0.01, "max_delay": 0.05, "budget_seconds": 5},
        progress_interval=0.5,
    )
