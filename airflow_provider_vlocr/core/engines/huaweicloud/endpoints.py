"""Region to endpoint mapping for Huawei Cloud OCR and IAM."""

from __future__ import annotations

DEFAULT_REGION = "cn-north-4"
# Regions huaweicloudsdkcore knows a regional IAM endpoint for (auth/endpoint.py).
IAM_REGIONS = frozenset(
    {
        "cn-north-1", "cn-north-2", "cn-north-4", "cn-north-9", "cn-north-12", "cn-east-2", "cn-east-3",
        "cn-east-4", "cn-east-5", "cn-south-1", "cn-south-2", "cn-southwest-2", "ap-southeast-1",
        "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "af-south-1", "sa-brazil-1", "la-south-2",
        "la-north-2", "na-mexico-1", "eu-west-0", "my-kualalumpur-1", "ru-moscow-1", "me-east-1", "ae-ad-1",
        "tr-west-1",
    }
)  # fmt: skip
GLOBAL_IAM_ENDPOINT = "https://iam.myhuaweicloud.com"


def ocr_endpoint(region: str) -> str:
    """``https://ocr.{region}.myhuaweicloud.com``."""
    return f"https://ocr.{region}.myhuaweicloud.com"


def iam_endpoint(region: str) -> str:
    """The regional IAM endpoint when the SDK knows one, else the global one."""
    return f"https://iam.{region}.myhuaweicloud.com" if region in IAM_REGIONS else GLOBAL_IAM_ENDPOINT


def vehicle_license_path(project_id: str) -> str:
    """``/v2/{project_id}/ocr/vehicle-license``."""
    return f"/v2/{project_id}/ocr/vehicle-license"
