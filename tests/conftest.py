"""Test set-up: a scratch AIRFLOW_HOME before Airflow is imported; shared sample images."""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

_HOME = Path(tempfile.mkdtemp(prefix="vlocr-airflow-home-"))
os.environ.setdefault("AIRFLOW_HOME", str(_HOME))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")

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
            data = files.get(self.path.lstrip("/"))
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
