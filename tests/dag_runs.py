"""Running DAGs under test on every supported Airflow (the suite runs on the oldest 3.0.x and the newest 3.3.x)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.deadlines import deadline

# The longest a dag.test() may take: the slowest example (the scale DAG, mapped chunks) takes about 40 s here. A run
# that waits on a retry delay or a hung task fails at this bound, naming the DAG, not at the per-test timeout.
DAG_TEST_TIMEOUT = 180.0


def airflow_version() -> tuple[int, int]:
    from airflow import __version__

    major, minor = __version__.split(".")[:2]
    return int(major), int(minor)


def register_for_test(dag_file: Path) -> None:
    """Write the DAGs of ``dag_file`` and their assets to the metadata database, as the DAG processor would.
    Airflow 3.1+ ``dag.test()`` does it itself; on 3.0 a DAG with outlets fails there with "inactive assets"."""
    if airflow_version() >= (3, 1):
        return
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.models.dagbag import DagBag

    DagBundlesManager().sync_bundles_to_db()
    DagBag(dag_folder=dag_file, include_examples=False).sync_to_db("dags-folder", None)


def xcoms_of(run_id: str) -> dict[tuple[str, str, int], Any]:
    """The XComs of a DAG run, by ``(task_id, key, map_index)``."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(XComModel).filter(XComModel.run_id == run_id).all()
        return {(r.task_id, r.key, r.map_index): XComModel.deserialize_value(r) for r in rows}


def dag_test(dag: Any, conf: dict[str, Any] | None = None, *, timeout: float = DAG_TEST_TIMEOUT) -> Any:
    """``dag.test(run_conf=conf)`` within ``timeout`` seconds; returns the DAG run."""
    with deadline(timeout, f"dag.test() of {dag.dag_id}"):
        return dag.test(run_conf=conf or {})
