"""A DAG driven by ``dag_run.conf`` so tests can exercise the operator under a real Airflow (dag.test())."""

from __future__ import annotations

import tempfile
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_vlocr.operators.vehicle_license_ocr import VehicleLicenseOcrOperator

# Tests write their images under the temp dir and serve URLs on loopback; both must be allowed explicitly.
ALLOWED = {"allowed_local_roots": [tempfile.gettempdir()], "download_allowed_hosts": ["127.0.0.1", "localhost"]}

with DAG(
    dag_id="vlocr_test_batch",
    schedule=None,
    catchup=False,
    render_template_as_native_obj=True,
    params={"images": [], "on_error": "continue", "max_error_ratio": 1.0, "output_path": None, "side": "front"}
    | {"fail_on_empty": False},
    tags=["vlocr-test"],
) as dag:
    ocr = VehicleLicenseOcrOperator(
        task_id="ocr",
        images="{{ params.images }}",
        side="{{ params.side }}",
        output_path="{{ params.output_path }}",
        max_concurrency=4,
        retry={"max_attempts": 12, "initial_delay": 0.01, "max_delay": 0.05, "budget_seconds": 10},
        on_error="{{ params.on_error }}",
        max_error_ratio="{{ params.max_error_ratio }}",
        fail_on_empty="{{ params.fail_on_empty }}",
        progress_interval=0.2,
        **ALLOWED,
    )

    @task
    def collect(result: Any, ti: Any = None) -> dict[str, Any]:
        summary = ti.xcom_pull(task_ids="ocr", key="summary")
        return {"result": result, "summary": summary}

    collect(ocr.output)

with DAG(
    dag_id="vlocr_test_mapped",
    schedule=None,
    catchup=False,
    render_template_as_native_obj=True,
    params={"batches": []},
    tags=["vlocr-test"],
) as mapped_dag:

    @task
    def batches(params: Any = None) -> list[list[str]]:
        return list(params["batches"])

    mapped = VehicleLicenseOcrOperator.partial(task_id="ocr_mapped", side="front", max_concurrency=2, **ALLOWED).expand(
        images=batches()
    )

    @task
    def count(results: Any) -> list[int]:
        return [len(items) for items in results]

    count(mapped.output)

with DAG(
    dag_id="vlocr_test_records",
    schedule=None,
    catchup=False,
    render_template_as_native_obj=True,
    params={"images": [], "redact_pii": "none", "output_path": None, "records": True, "return_text_location": False},
    tags=["vlocr-test"],
) as records_dag:
    VehicleLicenseOcrOperator(
        task_id="ocr_records",
        images="{{ params.images }}",
        records="{{ params.records }}",
        merge_pages=True,
        redact_pii="{{ params.redact_pii }}",
        output_path="{{ params.output_path }}",
        return_text_location="{{ params.return_text_location }}",
        max_error_ratio=1.0,
        **ALLOWED,
    )

with DAG(
    dag_id="vlocr_test_expand_kwargs",
    schedule=None,
    catchup=False,
    params={"kwargs": []},
    tags=["vlocr-test"],
) as kwargs_dag:

    @task
    def kwargs_list(params: Any = None) -> list[dict[str, Any]]:
        return list(params["kwargs"])

    VehicleLicenseOcrOperator.partial(task_id="ocr_kwargs", max_concurrency=2, **ALLOWED).expand_kwargs(kwargs_list())

with DAG(
    dag_id="vlocr_test_journal",
    schedule=None,
    catchup=False,
    render_template_as_native_obj=True,
    params={"images": [], "output_path": None, "cache_path": None, "max_billed_calls": None},
    tags=["vlocr-test"],
) as journal_dag:
    VehicleLicenseOcrOperator(
        task_id="ocr_journal",
        images="{{ params.images }}",
        side="front",
        output_path="{{ params.output_path }}",
        cache_path="{{ params.cache_path }}",
        max_billed_calls="{{ params.max_billed_calls }}",
        max_concurrency=4,
        max_error_ratio=1.0,
        progress_interval=0.5,
        **ALLOWED,
    )
