"""Test set-up: a scratch AIRFLOW_HOME before Airflow is imported; shared sample images."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from tests import deadlines
from tests.dag_runs import dag_test, register_for_test, xcoms_of

_HOME = Path(tempfile.mkdtemp(prefix="vlocr-airflow-home-"))
os.environ.setdefault("AIRFLOW_HOME", str(_HOME))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
# OpenLineage (when its provider is installed) writes events to a file for the whole session: the provider reads
# its transport once, when Airflow loads plugins, so a test cannot switch it on later.
OPENLINEAGE_EVENTS = _HOME / "openlineage.jsonl"
os.environ.setdefault(
    "AIRFLOW__OPENLINEAGE__TRANSPORT",
    json.dumps({"type": "file", "log_file_path": str(OPENLINEAGE_EVENTS), "append": True}),
)

deadlines.install()


@pytest.fixture(autouse=True)
def _test_deadline(request: pytest.FixtureRequest) -> Iterator[None]:
    """No test runs longer than ``deadlines.TEST_TIMEOUT`` (tests/deadlines.py says why not pytest-timeout alone)."""
    with deadlines.deadline(deadlines.TEST_TIMEOUT, f"test {request.node.nodeid}", fail_late=False):
        yield  # the test's own failure is its report; nothing to add at teardown


SHARED_REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"


@pytest.fixture
def real_samples_dir() -> Path:
    """``../shared/data/real`` (Huawei's demo photo and ground truth); skips when absent."""
    if not (SHARED_REAL / "ground_truth.json").exists():
        pytest.skip("../shared/data/real is not present on this machine")
    return SHARED_REAL


@pytest.fixture(scope="session")
def _image_files() -> dict[str, bytes]:
    return {}


@pytest.fixture(scope="session")
def _image_http(_image_files: dict[str, bytes]) -> Iterator[str]:
    files = _image_files

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = files.get(unquote(self.path.lstrip("/")))  # as browsers send it: percent-encoded UTF-8
            self.send_response(200 if data is not None else 404)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(data or b"")))
            self.end_headers()
            self.wfile.write(data or b"")

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def image_server(_image_http: str, _image_files: dict[str, bytes]) -> Callable[[str, bytes], str]:
    """Serve bytes over HTTP on 127.0.0.1: ``image_server(name, data)`` returns the URL."""

    def publish(name: str, data: bytes) -> str:
        _image_files[name] = data
        return f"{_image_http}/{name}"

    return publish


# -- a real Airflow on SQLite -------------------------------------------------------------------------
REPO = Path(__file__).resolve().parents[1]
DAGS_DIR = _HOME / "dags"
DAGS_DIR.mkdir(exist_ok=True)
for folder in (REPO / "example_dags", REPO / "tests" / "dags"):
    for source in folder.glob("*.py"):
        if not source.name.startswith("_"):
            (DAGS_DIR / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS_DIR)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated SQLite metadata database in the scratch AIRFLOW_HOME."""
    from airflow.utils.db import initdb

    initdb()
    return _HOME


@pytest.fixture
def run_dag(airflow_db: Path) -> Callable[..., Any]:
    """``run_dag(dag_id, conf)`` runs a DAG from the dags folder with ``dag.test()``, within a time bound.

    Returns ``(state, xcoms)`` where ``xcoms`` maps ``(task_id, key, map_index)`` to values.
    """
    import importlib.util

    def run(dag_id: str, conf: dict[str, Any] | None = None, file: str | None = None) -> tuple[str, dict[Any, Any]]:
        path = DAGS_DIR / (file or f"{dag_id}.py")
        spec = importlib.util.spec_from_file_location(f"dagfile_{path.stem}", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        dags = [v for v in vars(module).values() if type(v).__name__ == "DAG" and v.dag_id == dag_id]
        assert dags, f"no DAG {dag_id} in {path}"
        register_for_test(path)
        dag_run = dag_test(dags[0], conf)
        return str(dag_run.state), xcoms_of(dag_run.run_id)

    return run


@pytest.fixture(scope="module")
def obs_server() -> Iterator[str]:
    """An S3-compatible server (moto's server mode) on 127.0.0.1, standing in for OBS."""
    moto_server = pytest.importorskip("moto.server", reason="moto is not installed")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def s3_client(conn: dict[str, Any]) -> Any:
    """A boto3 S3 client on the connection's ``obs_endpoint`` with its AK/SK (to set up and check buckets)."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=conn["extra"]["obs_endpoint"],
        aws_access_key_id=conn["extra"]["access_key_id"],
        aws_secret_access_key=conn["extra"]["secret_access_key"],
        region_name="us-east-1",
    )
