"""Running DAGs under test on every supported Airflow (the suite runs on the oldest 3.0.x and the newest 3.3.x)."""

from __future__ import annotations

import faulthandler
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

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


@contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Fail the test (``pytest.fail``, a ``BaseException`` no task runner swallows) if the block runs longer than
    ``seconds``, printing every thread's stack first. SIGALRM, so main thread only; an outer alarm (pytest-timeout's)
    that is due sooner is left to fire, and one due later is set again afterwards with what is left of it."""
    outer_left = signal.getitimer(signal.ITIMER_REAL)[0]
    if outer_left and outer_left <= seconds:
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        sys.stderr.write(f"\n{what} ran over {seconds:g} s; the stacks of all threads:\n")
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        pytest.fail(f"{what} ran over its bound of {seconds:g} s", pytrace=True)

    started = time.monotonic()
    outer_handler = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, outer_handler)
        if outer_left:
            signal.setitimer(signal.ITIMER_REAL, max(outer_left - (time.monotonic() - started), 0.001))


def dag_test(dag: Any, conf: dict[str, Any] | None = None, *, timeout: float = DAG_TEST_TIMEOUT) -> Any:
    """``dag.test(run_conf=conf)`` within ``timeout`` seconds; returns the DAG run."""
    with time_limit(timeout, f"dag.test() of {dag.dag_id}"):
        return dag.test(run_conf=conf or {})
