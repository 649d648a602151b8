"""A folder of licence photos split into batches, one mapped OCR task per batch, records loaded into SQLite."""

from __future__ import annotations

import os
import sqlite3
from typing import Any

from airflow.sdk import DAG, ObjectStoragePath, task

from airflow_provider_vlocr.operators.vehicle_license_ocr import VehicleLicenseOcrOperator

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
COLUMNS = (
    "source", "side", "number", "vehicle_type", "name", "use_character", "model", "vin", "engine_no",
    "register_date", "issue_date", "issuing_authority", "file_no", "approved_passengers", "gross_mass",
    "unladen_mass", "dimension", "inspection_record", "code_number", "request_id", "valid", "findings",
)  # fmt: skip

# Where the photos are; the operator reads local files only under allowed_local_roots (set by the DAG author,
# never by data or run conf).
FOLDER = os.environ.get("VLOCR_EXAMPLE_FOLDER", "file:///tmp/vlocr-samples")

with DAG(
    dag_id="vlocr_example_mapped",
    schedule=None,
    catchup=False,
    params={
        "folder": FOLDER,
        "database": os.environ.get("VLOCR_EXAMPLE_DATABASE", "/tmp/vlocr-records.sqlite"),
        "batch_size": 4,
    },
    tags=["vlocr", "example"],
) as dag:

    @task
    def list_batches(params: Any = None) -> list[list[dict[str, str]]]:
        folder = ObjectStoragePath(params["folder"])
        files = sorted(str(p) for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        items = [{"path": f, "side": "back" if "_back" in f else "front"} for f in files]
        size = int(params["batch_size"])
        return [items[i : i + size] for i in range(0, len(items), size)]

    # [START howto_operator_vlocr_mapped]
    ocr = VehicleLicenseOcrOperator.partial(
        task_id="recognize_batch",
        max_concurrency=4,
        max_requests_per_second=10,
        on_error="continue",
        records=True,
        allowed_local_roots=[FOLDER],
    ).expand(images=list_batches())
    # [END howto_operator_vlocr_mapped]

    @task
    def load_sqlite(batches: Any, params: Any = None) -> int:
        rows = []
        for items in batches:
            for item in items:
                if item["status"] != "ok":
                    continue
                record = item["record"]
                values = {
                    **item["result"],
                    "source": item["source"],
                    "side": item["side"],
                    "request_id": item["request_id"],
                    "valid": record["valid"],
                    "findings": ",".join(f["code"] for f in record["findings"]),
                }
                rows.append(tuple(values.get(c) for c in COLUMNS))
        with sqlite3.connect(params["database"]) as db:
            db.execute(f"CREATE TABLE IF NOT EXISTS vehicle_licence ({', '.join(COLUMNS)}, UNIQUE(source))")
            db.executemany(f"INSERT OR REPLACE INTO vehicle_licence VALUES ({', '.join('?' * len(COLUMNS))})", rows)
        return len(rows)

    load_sqlite(ocr.output)
