"""The nightly job: a folder of photos -> JSON Lines beside them -> a database, good rows loaded even when the OCR
task fails (README, "Recipe: nightly folder -> JSON Lines -> database").

The OCR task writes one line per photo to ``{folder}/results/{ds}.jsonl`` (its journal: a retry or a re-run resumes
and pays for nothing twice), with a validated record per page and owner data masked. The loader runs whatever the
OCR task's state (``trigger_rule="all_done"``): the file is complete before the task can fail, so the good rows go in
and the failed ones go to a review table with their reason.
"""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Any

import pendulum
from airflow.sdk import DAG, ObjectStoragePath, task

from airflow_provider_vlocr.operators.vehicle_license_ocr import VehicleLicenseOcrOperator
from airflow_provider_vlocr.policies.retry import ocr_retry_policy

FOLDER = os.environ.get("VLOCR_EXAMPLE_FOLDER", "file:///tmp/vlocr-samples")
OUTPUT = "{{ params.folder }}/results/{{ ds }}.jsonl"

with DAG(
    dag_id="vlocr_example_nightly",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    params={
        "folder": FOLDER,
        "database": os.environ.get("VLOCR_EXAMPLE_DATABASE", "/tmp/vlocr-records.sqlite"),
        "max_error_ratio": 0.5,
    },
    render_template_as_native_obj=True,
    tags=["vlocr", "example"],
) as dag:
    # [START howto_operator_vlocr_nightly]
    recognize = VehicleLicenseOcrOperator(
        task_id="recognize_folder",
        images=[  # one glob per page kind (the cloud engine reads a front page unless told; offline engines detect)
            {"path": "{{ params.folder }}/*_front*", "side": "front"},
            {"path": "{{ params.folder }}/*_back*", "side": "back"},
        ],
        output_path=OUTPUT,
        records=True,
        merge_pages=True,
        redact_pii="mask",
        max_error_ratio="{{ params.max_error_ratio }}",
        retries=2,
        retry_policy=ocr_retry_policy(),
        allowed_local_roots=[FOLDER],
    )

    @task(trigger_rule="all_done")  # load the good rows even when the OCR task failed
    def load(output_path: str, params: Any = None) -> dict[str, int]:
        rows, review = [], []
        with ObjectStoragePath(output_path).open("r", encoding="utf-8") as handle:
            lines = handle.read().splitlines()
        for item in map(json.loads, lines):
            if item["status"] == "ok":
                record = item["record"]
                rows.append((item["source"], item["side"], record["plate"], record["vin"], record["owner_name"],
                             record["valid"], json.dumps(record, ensure_ascii=False)))  # fmt: skip
            else:
                review.append((item["source"], item["error"]["code"] or item["error"]["type"]))
        with sqlite3.connect(params["database"]) as db:
            db.execute("CREATE TABLE IF NOT EXISTS licence_page (source PRIMARY KEY, side, plate, vin, owner, valid, "
                       "record)")  # fmt: skip
            db.execute("CREATE TABLE IF NOT EXISTS licence_review (source PRIMARY KEY, reason)")
            db.executemany("INSERT OR REPLACE INTO licence_page VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            db.executemany("INSERT OR REPLACE INTO licence_review VALUES (?, ?)", review)
        return {"loaded": len(rows), "review": len(review)}

    recognize >> load(OUTPUT)
    # [END howto_operator_vlocr_nightly]
