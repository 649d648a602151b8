"""Running DAGs under test on every supported Airflow (the suite runs on the oldest 3.0.x and the newest 3.3.x)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


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
