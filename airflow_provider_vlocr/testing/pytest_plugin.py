"""pytest plugin (entry point ``pytest11``): an emulator on a free loopback port, in one line.

Fixtures:

* ``vlocr_emulator``: an :class:`EmulatorHandle` with fresh counters and default behaviour for each test.
* ``vlocr_connection``: sets ``AIRFLOW_CONN_VLOCR_DEFAULT`` to the emulator (IAM password auth) and
  yields the connection dict, so ``VehicleLicenseOcrHook()`` and the operator work unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from ..emulator.config import EmulatorConfig
from ..emulator.server import EmulatorServer
from .emulator_handle import EmulatorHandle


@pytest.fixture(scope="session")
def vlocr_emulator_server() -> Iterator[EmulatorServer]:
    """One emulator for the whole session, on 127.0.0.1 and a free port."""
    server = EmulatorServer(EmulatorConfig(engine="answers"), host="127.0.0.1", port=0).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def vlocr_emulator(vlocr_emulator_server: EmulatorServer) -> Iterator[EmulatorHandle]:
    """The session's emulator, reset before each test."""
    handle = EmulatorHandle(vlocr_emulator_server.base_url, vlocr_emulator_server.config)
    handle.reset()
    try:
        yield handle
    finally:
        handle.close()


@pytest.fixture
def vlocr_connection(vlocr_emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """``AIRFLOW_CONN_VLOCR_DEFAULT`` pointing at the emulator with IAM password auth."""
    conn = vlocr_emulator.connection("password")
    monkeypatch.setenv("AIRFLOW_CONN_VLOCR_DEFAULT", json.dumps(conn))
    return conn
