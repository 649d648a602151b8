"""Human review of doubtful licences: each image the batch summary lists for review (doubtful fields, error-level
findings such as a VIN whose check digit fails or plates of the two pages that disagree, failed photos) goes to a
human-in-the-loop task, where a reviewer sees the reasons (owner data masked) with a link to the batch's review
report (the fields in question cut out of the photo) and confirms or notes a correction in the Airflow UI.

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
        output_path="{{ params.folder }}/results/{{ run_id }}.jsonl",  # the review report is written beside it
        records=True,
        redact_pii="mask",  # reviewers see masked owner names and addresses
        on_error="continue",
        max_error_ratio=1.0,
        allowed_local_roots=[FOLDER],
    )

    @task
    def needs_review(result: dict[str, Any]) -> list[str]:
        """One review text per image the summary lists for review (none: the review task is skipped), each
        pointing at the review report, where the fields in question are cut out of the photo."""
        summary = result["summary"]
        report = summary.get("review_report")
        bodies = []
        for entry in summary["review"]:
            lines = "\n".join(f"- `{r['reason']}` ({r['field'] or 'the image'})" for r in entry["reasons"])
            seen = f"\n\nThe fields on the photo, side by side with what was read: {report}" if report else ""
            bodies.append(f"**{entry['source']}**\n\n{lines}{seen}")
        return bodies

    # [START howto_operator_vlocr_review]
    HITLEntryOperator.partial(
        task_id="review",
        subject="A vehicle licence record needs a human check",
        params={"correction": Param("", type="string", description="the corrected value, if any")},
        response_timeout=REVIEW_TIMEOUT,
    ).expand(body=needs_review(ocr.output))
    # [END howto_operator_vlocr_review]
