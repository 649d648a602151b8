"""Provider metadata: schema-valid, package name equals the distribution, discovered by Airflow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import distribution, entry_points
from pathlib import Path

import airflow
import jsonschema

from airflow_provider_vlocr.get_provider_info import get_provider_info
from airflow_provider_vlocr.hooks.vehicle_license_ocr import VehicleLicenseOcrHook

AIRFLOW_DIR = Path(airflow.__file__).parent


def test_package_name_equals_distribution_name() -> None:
    assert get_provider_info()["package-name"] == distribution("airflow-provider-vlocr").metadata["Name"]
    (entry,) = [
        e for e in entry_points(group="apache_airflow_provider") if e.value.startswith("airflow_provider_vlocr")
    ]
    assert entry.load() is get_provider_info


def test_provider_info_validates_against_airflow_schemas() -> None:
    info = get_provider_info()
    jsonschema.validate(info, json.loads((AIRFLOW_DIR / "provider_info.schema.json").read_text()))
    yaml_schema = json.loads((AIRFLOW_DIR / "provider.yaml.schema.json").read_text())
    conn_schema = yaml_schema["properties"]["connection-types"]
    jsonschema.validate(info["connection-types"], conn_schema)


def test_connection_type_matches_hook() -> None:
    (conn,) = get_provider_info()["connection-types"]
    assert conn["connection-type"] == VehicleLicenseOcrHook.conn_type == "vlocr"
    module, _, name = conn["hook-class-name"].rpartition(".")
    assert getattr(sys.modules[module], name) is VehicleLicenseOcrHook
    fields = conn["conn-fields"]
    for secret in ("secret_access_key", "security_token", "token"):
        assert fields[secret]["schema"]["format"] == "password"
    assert fields["region"]["schema"]["default"] == "cn-north-4"
    assert {"host", "port", "schema"} <= set(conn["ui-field-behaviour"]["hidden-fields"])


def test_airflow_cli_lists_the_provider(tmp_path: Path) -> None:
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path)}
    airflow_cli = Path(sys.executable).with_name("airflow")
    out = subprocess.run(
        [str(airflow_cli), "providers", "list", "-o", "json"], env=env, capture_output=True, text=True, timeout=180
    )
    assert out.returncode == 0, out.stderr[-2000:]
    (line,) = [line for line in out.stdout.splitlines() if line.startswith("[{")]
    listed = {p["package_name"] for p in json.loads(line)}
    assert "airflow-provider-vlocr" in listed


def test_the_readme_states_the_defaults_the_code_has() -> None:
    """The README's defaults of hybrid_threshold and max_error_ratio are the code's."""
    import re

    from airflow_provider_vlocr.licence.schema import HYBRID_THRESHOLD
    from airflow_provider_vlocr.operators.arguments import OcrArguments

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    thresholds = re.findall(r"hybrid_threshold`[^\n]*?default (\d\.\d+)", readme)
    ratios = re.findall(r"max_error_ratio` (?:defaults to|\(default) (\d\.\d+)", readme)
    assert thresholds and {float(t) for t in thresholds} == {HYBRID_THRESHOLD}
    assert ratios and {float(r) for r in ratios} == {OcrArguments.model_fields["max_error_ratio"].default}
