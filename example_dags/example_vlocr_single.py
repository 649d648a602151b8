"""One licence photo; a downstream task reads the plate and the owner from the XCom result."""

from __future__ import annotations

import os
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_vlocr.operators.vehicle_license_ocr import VehicleLicenseOcrOperator

with DAG(
    dag_id="vlocr_example_single",
    schedule=None,
    catchup=False,
    render_template_as_native_obj=True,
    params={"image": os.environ.get("VLOCR_EXAMPLE_IMAGE", "https://example.com/licence-front.jpg")},
    tags=["vlocr", "example"],
) as dag:
    # [START howto_operator_vlocr_single]
    ocr = VehicleLicenseOcrOperator(
        task_id="recognize_front",
        images="{{ params.image }}",
        side="front",
        on_error="fail",
        # Photos on the worker's disk are read only under these directories (http(s) URLs need nothing).
        allowed_local_roots=[os.environ.get("VLOCR_EXAMPLE_ROOT", "/tmp/vlocr-samples")],
    )
    # [END howto_operator_vlocr_single]

    @task
    def plate_and_owner_present(items: list[dict[str, Any]]) -> dict[str, Any]:
        # Return no personal data: Airflow prints a task's return value into its log (and keeps it in XCom).
        result = items[0]["result"]
        return {"plate": result.get("number"), "owner_read": bool(result.get("name"))}

    plate_and_owner_present(ocr.output)
