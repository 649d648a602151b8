"""Provider metadata read by Airflow's providers manager (entry point ``apache_airflow_provider``)."""

from __future__ import annotations

from typing import Any

from . import __version__
from .core.engines.registry import ENGINES, OFFERED_ENGINES
from .licence.schema import HYBRID_THRESHOLD

CONN_TYPE = "vlocr"
HOOK_CLASS = "airflow_provider_vlocr.hooks.vehicle_license_ocr.VehicleLicenseOcrHook"


def _field(label: str, description: str, type_: Any = ("string", "null"), **schema: Any) -> dict[str, Any]:
    return {"label": label, "description": description, "schema": {"type": list(type_), **schema}}


def connection_fields() -> dict[str, Any]:
    """The ``conn-fields`` of the ``vlocr`` connection type (stored un-prefixed in ``Connection.extra``)."""
    return {
        "domain_name": _field("Account name (domain)", "Huawei Cloud account name, for IAM password auth."),
        "access_key_id": _field("Access key ID (AK)", "For AK/SK signing instead of an IAM password."),
        "secret_access_key": _field("Secret access key (SK)", "Secret of the access key.", format="password"),
        "security_token": _field(
            "Security token", "Only with temporary AK/SK (STS); sent as X-Security-Token.", format="password"
        ),
        "token": _field("IAM token", "A ready-made project-scoped IAM token (X-Auth-Token).", format="password"),
        "region": _field("Region", "OCR region, e.g. cn-north-4 or cn-east-3.", default="cn-north-4"),
        "project_id": _field("Project ID", "Optional: looked up from the region when empty."),
        "ocr_endpoint": _field("OCR endpoint", "Optional URL override (private deployment, emulator).", format="url"),
        "iam_endpoint": _field("IAM endpoint", "Optional URL override for IAM.", format="url"),
        "obs_endpoint": _field(
            "OBS endpoint",
            "Optional URL override for obs:// paths (default https://obs.{region}.myhuaweicloud.com).",
            format="url",
        ),
        "enterprise_project_id": _field("Enterprise project ID", "Optional billing attribution header."),
        "verify_ssl": _field(
            "Verify TLS certificates", "Turn off only for private endpoints.", ("boolean",), default=True
        ),
        "timeout": _field("Timeout (connect, read)", "Seconds, e.g. '10,60' or one number for both.", default="10,60"),
        "pii_salt": _field(
            "PII salt",
            "Secret salt for redact_pii='hash' (HMAC-SHA256 pseudonyms of owner names and addresses).",
            format="password",
        ),
        "engine": _field(
            "Engine",
            "; ".join(f"{name}: {ENGINES[name].description}" for name in OFFERED_ENGINES),
            ("string",),
            enum=list(OFFERED_ENGINES),
            default="huaweicloud",
        ),
        "hybrid_threshold": _field(
            "Hybrid threshold",
            "engine=hybrid: an image goes to Huawei Cloud when a field's offline confidence is below this.",
            ("number",),
            minimum=0.01,
            maximum=1.0,
            default=HYBRID_THRESHOLD,
        ),
        "shared_pacer": _field(
            "Shared pacer (Redis)",
            "All workers pace this account's calls as one: a redis:// URL or the id of an Airflow Redis connection "
            "(e.g. the Celery broker's). Needs the 'redis' extra. Empty: each process paces alone.",
        ),
    }


def get_provider_info() -> dict[str, Any]:
    """Provider info; ``package-name`` must equal the distribution name."""
    return {
        "package-name": "airflow-provider-vlocr",
        "name": "Vehicle License OCR (Huawei Cloud)",
        "description": "Chinese motor-vehicle licence (行驶证) OCR into validated, structured records.",
        "versions": [__version__],
        "filesystems": ["airflow_provider_vlocr.fs.obs"],
        "connection-types": [
            {
                "connection-type": CONN_TYPE,
                "hook-class-name": HOOK_CLASS,
                "hook-name": "Vehicle License OCR (Huawei Cloud)",
                "conn-fields": connection_fields(),
                "ui-field-behaviour": {
                    "hidden-fields": ["host", "port", "schema"],
                    "relabeling": {"login": "IAM user name", "password": "IAM password"},
                    "placeholders": {
                        "login": "IAM user (password auth only)",
                        "password": "IAM password (password auth only)",
                    },
                },
            }
        ],
    }
