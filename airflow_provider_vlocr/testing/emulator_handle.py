"""Drive a running emulator over HTTP: counters, settings, answers, token expiry, ready connections."""

from __future__ import annotations

import base64
import json
import select
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests

from ..core.engines.base import image_digest
from ..core.engines.reading import LicenseReading
from ..emulator.config import EmulatorConfig
from ..emulator.server import connection_for


class EmulatorHandle:
    """A running emulator at ``base_url`` and the admin calls tests need."""

    def __init__(self, base_url: str, config: EmulatorConfig | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.config = config or EmulatorConfig()
        self._http = requests.Session()

    def _admin(self, method: str, action: str, payload: Any = None) -> dict[str, Any]:
        response = self._http.request(
            method,
            f"{self.base_url}/_emulator/{action}",
            data=None if payload is None else json.dumps(payload),
            timeout=10,
        )
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def connection(self, mode: str = "password") -> dict[str, Any]:
        """An ``AIRFLOW_CONN_*`` JSON-form connection for ``mode`` (password, aksk, temporary-aksk)."""
        return connection_for(self.base_url, self.config, mode)

    def connection_json(self, mode: str = "password") -> str:
        return json.dumps(self.connection(mode))

    def token_request(self, scope: str = "project", password: str | None = None) -> dict[str, Any]:
        """An IAM password-token request body for the first configured user (``scope``: project or domain)."""
        user = self.config.users[0]
        scopes = {
            "project": {"project": {"name": self.config.project.name}},
            "domain": {"domain": {"name": user.domain}},
        }
        return {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "domain": {"name": user.domain},
                            "name": user.name,
                            "password": user.password if password is None else password,
                        }
                    },
                },
                "scope": scopes[scope],
            }
        }

    def issue_token(self, scope: str = "project") -> str:
        """A fresh IAM token from the emulator (for ready-made-token tests)."""
        response = self._http.post(f"{self.base_url}/v3/auth/tokens", json=self.token_request(scope), timeout=10)
        response.raise_for_status()
        return str(response.headers["X-Subject-Token"])

    def counters(self) -> dict[str, Any]:
        return self._admin("GET", "counters")

    def reset(self) -> None:
        """Zero the counters and restore the default behaviour (no latency, no limit, no faults)."""
        self._admin("POST", "reset")
        self.configure(
            latency_ms=0,
            qps_limit=0,
            quota_per_window=0,
            retry_after_seconds=None,
            faults={},
            token_lifetime_seconds=self.config.token_lifetime_seconds,
            url_allowed_hosts=list(self.config.url_allowed_hosts),
        )

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Change latency_ms, qps_limit, faults, token_lifetime_seconds, seed or url_allowed_hosts."""
        return self._admin("POST", "settings", settings)

    def expire_tokens(self) -> int:
        return int(self._admin("POST", "tokens/expire")["expired"])

    def add_answer(self, image: bytes, reading: LicenseReading | Mapping[str, Any]) -> str:
        """Teach the answers engine what ``image`` shows; returns its sha256."""
        model = reading if isinstance(reading, LicenseReading) else LicenseReading.model_validate(reading)
        digest = image_digest(image)
        self._admin("POST", "answers", {digest: model.model_dump(mode="json")})
        return digest

    def billed(self, image: bytes) -> int:
        """How many billed (2xx) OCR calls ``image`` got."""
        return int(self.counters()["billed_by_image"].get(image_digest(image), 0))

    @staticmethod
    def b64(image: bytes) -> str:
        return base64.b64encode(image).decode("ascii")

    def close(self) -> None:
        self._http.close()


def emulator_command(config_path: str | Path | None = None, *, port: int = 0) -> list[str]:
    """The command line that runs ``vlocr-emulator`` with this interpreter (0: a free port, printed first)."""
    command = [sys.executable, "-m", "airflow_provider_vlocr.emulator", "--port", str(port)]
    if config_path is not None:
        command += ["--config", str(config_path)]
    return command


def start_emulator_process(
    config_path: str | Path | None = None, *, port: int = 0, startup_timeout: float = 60.0
) -> tuple[subprocess.Popen[str], str]:
    """Run ``vlocr-emulator`` in a child process (own CPU and memory); returns it and the base URL it printed.

    The caller stops it with ``terminate()``; the remaining stdout lines (credentials, connections) stay readable.
    A child that prints nothing within ``startup_timeout`` seconds is killed and reported.
    """
    process = subprocess.Popen(emulator_command(config_path, port=port), stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], startup_timeout)
    base_url = process.stdout.readline().strip() if ready else ""
    if not base_url.startswith("http"):
        process.kill()
        process.wait(timeout=10)
        said = f"first line: {base_url!r}" if ready else f"nothing printed within {startup_timeout:g} s"
        raise RuntimeError(f"the emulator did not start ({said})")
    return process, base_url
