"""Human review of doubtful licences: records with error-level findings (a VIN whose check digit fails, plates of the
two pages that disagree, an issue date before the register date …) each go to a human-in-the-loop task, where a
reviewer sees the findings (owner data masked) and confirms or notes a correction in the Airflow UI.

Needs Airflow 3.1 or later (human-in-the-loop operators arrived in 3.1, with the standard provider 1.6)."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pendulum
from airflow.providers.standard.operators.hitl import HITLEntryOperator
from airflow.sdk import DAG, Param, task

from airflow_provider_vlocr.operators.vehicle_license_ocr import VehicleLicenseOcrOperator

FOLDER = os.environ.get("VLOCR_EXAMPLE_FOLDER", "file:///tmp/vlocr-samples")
REVIEW_TIMEOUT = timedelta(hours=24)  # after a day without an answer, the default ("OK") is taken

with DAG(
    dag_id="vlocr_example_review",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={"folder": FOLDER},
    tags=["vlocr", "example"],
) as dag:
    ocr = VehicleLicenseOcrOperator(
        task_id="recognize",
        images=[
            {"path": "{{ params.folder }}/*_front*", "side": "front"},
            {"path": "{{ params.folder }}/*_back*", "side": "back"},
        ],
        records=True,
        redact_pii="mask",  # reviewers see masked owner names and addresses
        on_error="continue",
        max_error_ratio=1.0,
        allowed_local_roots=[FOLDER],
    )

    @task
    def needs_review(items: list[dict[str, Any]]) -> list[str]:
        """One review text per record with an error-level finding (none: the review task is skipped)."""
        bodies = []
        for item in items:
            record = item.get("record") or {}
            errors = [f for f in record.get("findings", []) if f["severity"] == "error"]
            if item.get("status") == "ok" and errors:
                lines = "\n".join(f"- `{f['code']}` ({f['field']}): {f['message']}" for f in errors)
                bodies.append(f"**{item['source']}**, plate {record.get('plate') or '?'}\n\n{lines}")
        return bodies

    # [START howto_operator_vlocr_review]
    HITLEntryOperator.partial(
        task_id="review",
        subject="A vehicle licence record needs a human check",
        params={"correction": Param("", type="string", description="the corrected value, if any")},
        response_timeout=REVIEW_TIMEOUT,
    ).expand(body=needs_review(ocr.output))
    # [END howto_operator_vlocr_review]
