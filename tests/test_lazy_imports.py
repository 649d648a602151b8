"""A DAG file that imports the operator parses fast: no Pillow, numpy, onnxruntime or rapidocr at import time."""

from __future__ import annotations

import json
import subprocess
import sys


def test_operator_import_is_light() -> None:
    code = (
        "import sys, json; import airflow_provider_vlocr.operators.vehicle_license_ocr, "
        "airflow_provider_vlocr.hooks.vehicle_license_ocr, airflow_provider_vlocr.licence.rules; "
        "heavy = ('PIL', 'numpy', 'onnxruntime', 'rapidocr', 'cv2', 'opencc'); "
        "print(json.dumps([m for m in heavy if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_operator_import_pulls_no_http_stack_nor_batch_machinery() -> None:
    """A DAG file importing the operator loads the argument checks and the hook, nothing that runs a batch."""
    code = (
        "import sys, json; import airflow.sdk; base = set(sys.modules); "
        "import airflow_provider_vlocr.operators.vehicle_license_ocr; "
        "print(json.dumps(sorted(set(sys.modules) - base)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    banned = (
        "requests", "urllib3", "http.client", "ssl", "PIL", "numpy",
        "airflow_provider_vlocr.core.batch", "airflow_provider_vlocr.core.fetch.download",
        "airflow_provider_vlocr.core.engines.huaweicloud.client",
        "airflow_provider_vlocr.core.engines.huaweicloud.auth",
        "airflow_provider_vlocr.licence.rules", "airflow_provider_vlocr.operators.object_storage",
    )  # fmt: skip
    assert [m for m in loaded if m.startswith(banned)] == []


def test_core_has_no_airflow_import() -> None:
    """Every module of the core, the licence domain and the emulator imports without Airflow."""
    code = (
        "import sys, json, pkgutil, importlib; "
        "import airflow_provider_vlocr.core as core, airflow_provider_vlocr.licence as lic; "
        "import airflow_provider_vlocr.emulator; "
        "[importlib.import_module(m.name) for p in (core, lic) "
        "for m in pkgutil.walk_packages(p.__path__, p.__name__ + '.')]; "
        "print(json.dumps([m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
