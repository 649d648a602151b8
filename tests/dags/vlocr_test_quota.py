"""A DAG whose OCR task meets a spent quota: the provider's retry policy decides what happens next (tests only)."""

from __future__ import annotations

import tempfile
from datetime import timedelta

from airflow.sdk import DAG

from airflow_provider_vlocr.operators.vehicle_license_ocr import VehicleLicenseOcrOperator
from airflow_provider_vlocr.policies.retry import ocr_retry_policy

with DAG(
    dag_id="vlocr_test_quota",
    schedule=None,
    catchup=False,
    render_template_as_native_obj=True,
    params={"images": [], "output_path": None},
    tags=["vlocr-test"],
) as dag:
    VehicleLicenseOcrOperator(
        task_id="ocr",
        images="{{ params.images }}",
        side="front",
        output_path="{{ params.output_path }}",  # the journal: a later run sends only what was not answered
        retry={"max_attempts": 1},  # no in-batch retry: a throttled image fails this run
        on_error="fail",
        retries=1,
        retry_delay=timedelta(seconds=1),
        retry_policy=ocr_retry_policy(quota_delay=timedelta(seconds=1), max_reschedules=3),
        allowed_local_roots=[tempfile.gettempdir()],
    )
