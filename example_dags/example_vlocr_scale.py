"""Scale out through Airflow: a folder split into mapped chunks, one OCR task per chunk on any worker, a pool that
keeps the whole fleet of tasks inside the account's request quota, and a summary of what was billed.

The quota, two ways:

* shared (recommended): the ``vlocr`` connection's extra ``shared_pacer`` names a Redis every worker reaches (the
  Celery broker's, in another database). Every task is told the account's quota as ``max_requests_per_second``
  (``VLOCR_TASK_QPS``) and the Redis store keeps the fleet's total under it, whichever tasks run: a worker's unused
  share goes to the others;
* static: each task paces its own share at ``max_requests_per_second`` and the pool (``VLOCR_POOL``, created with
  ``airflow pools set``) caps how many chunks run at once, so ``pool slots × VLOCR_TASK_QPS`` is the most the fleet
  can send.

``make scale-demo`` runs this DAG on the CeleryExecutor (README, "Scaling out").
"""

from __future__ import annotations

import itertools
import os
from typing import Any

from airflow.sdk import DAG, ObjectStoragePath, task

from airflow_provider_vlocr.operators.vehicle_license_ocr import VehicleLicenseOcrOperator
from airflow_provider_vlocr.policies.retry import ocr_retry_policy

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
FOLDER = os.environ.get("VLOCR_EXAMPLE_FOLDER", "file:///tmp/vlocr-samples")
POOL = os.environ.get("VLOCR_POOL", "vlocr_cloud")
TASK_QPS = float(os.environ.get("VLOCR_TASK_QPS", "2"))

with DAG(
    dag_id="vlocr_example_scale",
    schedule=None,
    catchup=False,
    params={"folder": FOLDER, "chunks": 12},
    tags=["vlocr", "example"],
) as dag:

    @task
    def split_folder(params: Any = None) -> list[list[dict[str, str]]]:
        """The folder's photos in ``chunks`` contiguous chunks whose sizes differ by at most one (sorted, so a
        re-run maps the same chunks)."""
        folder = ObjectStoragePath(params["folder"])
        files = sorted(str(p) for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        items = [{"path": f, "side": "back" if "_back" in f else "front"} for f in files]
        count = max(1, min(int(params["chunks"]), len(items)))
        size, larger = divmod(len(items), count)
        bounds = [i * size + min(i, larger) for i in range(count + 1)]
        return [items[start:end] for start, end in itertools.pairwise(bounds)]

    # [START howto_operator_vlocr_scale]
    ocr = VehicleLicenseOcrOperator.partial(
        task_id="recognize_chunk",
        pool=POOL,  # static pacing: slots × max_requests_per_second ≤ the account's quota
        max_requests_per_second=TASK_QPS,
        output_path="{{ params.folder }}/results/{{ run_id }}/chunk-{{ ti.map_index }}.jsonl",  # journal: resume
        on_error="continue",
        retries=2,
        retry_policy=ocr_retry_policy(),  # quota spent: rescheduled for its next window (3.4+); auth errors fail
        allowed_local_roots=[FOLDER],
    ).expand(images=split_folder())
    # [END howto_operator_vlocr_scale]

    @task
    def summarize(chunks: Any) -> dict[str, Any]:
        """Counts over all chunks: images, outcomes, billed calls per try (from each chunk's journal)."""
        total: dict[str, Any] = {"chunks": 0, "images": 0, "ok": 0, "error": 0, "billed": 0, "billed_per_try": {}}
        for chunk in chunks:
            summary = chunk["summary"]
            total["chunks"] += 1
            total["images"] += summary["total"]
            total["ok"] += summary["ok"]
            total["error"] += summary["error"]
            total["billed"] += summary["billed"]
            for try_number, calls in summary.get("billed_per_try", {}).items():
                total["billed_per_try"][try_number] = total["billed_per_try"].get(try_number, 0) + calls
        return total

    summarize(ocr.output)
