"""``obs://bucket/key``: Huawei Cloud OBS for Airflow's ``ObjectStoragePath``, through OBS's S3-compatible API (s3fs).

In your own tasks, ``import airflow_provider_vlocr.fs.obs`` before building ``ObjectStoragePath("obs://…")`` (the
provider's filesystem is otherwise registered only when Airflow first attaches one). Authenticated with the ``vlocr``
connection's AK/SK (and security token for temporary credentials); the endpoint is
``https://obs.{region}.myhuaweicloud.com`` unless the connection extra ``obs_endpoint`` says otherwise. Needs the
``obs`` extra (s3fs). ``ObjectStoragePath("obs://bucket/key", conn_id="vlocr_default")`` picks the connection; the
operator passes its own ``vlocr_conn_id`` for ``obs://`` items.
"""

from __future__ import annotations

from typing import Any

from ..core.errors import ConfigurationError

try:
    from s3fs import S3FileSystem
except ImportError:  # pragma: no cover - the obs extra installs it
    S3FileSystem = None


if S3FileSystem is not None:

    class ObsFileSystem(S3FileSystem):
        """s3fs speaking to OBS, with ``obs://`` as its protocol (so paths lose their ``obs://`` prefix)."""

        protocol = ("obs",)


schemes = ["obs"]
DEFAULT_CONN_ID = "vlocr_default"
INSTALL_HINT = "obs:// paths need s3fs: pip install 'airflow-provider-vlocr[obs]'"


def register() -> None:
    """Make ``obs`` a protocol fsspec (hence ``ObjectStoragePath``) knows; Airflow then asks :func:`get_fs` for the
    authenticated filesystem. Done on import of this module (the operator imports it for ``obs://`` items)."""
    import fsspec

    if "obs" not in fsspec.registry and "obs" not in fsspec.available_protocols():
        fsspec.register_implementation("obs", f"{__name__}.ObsFileSystem", errtxt=INSTALL_HINT)


def obs_endpoint(region: str, override: str | None) -> str:
    """The OBS endpoint of a region, or the connection's override (private deployments, tests)."""
    return (override or f"https://obs.{region}.myhuaweicloud.com").rstrip("/")


def get_fs(conn_id: str | None, storage_options: dict[str, Any] | None = None) -> Any:
    """The filesystem for ``obs://`` paths of connection ``conn_id`` (``vlocr_default`` when none is given)."""
    if S3FileSystem is None:
        raise ConfigurationError(INSTALL_HINT)
    from ..hooks.vehicle_license_ocr import VehicleLicenseOcrHook

    settings = VehicleLicenseOcrHook(vlocr_conn_id=conn_id or DEFAULT_CONN_ID).settings
    if not (settings.access_key_id and settings.secret_access_key):
        raise ConfigurationError(
            f"obs:// paths need access_key_id and secret_access_key on the vlocr connection {conn_id!r}"
        )
    options: dict[str, Any] = {
        "key": settings.access_key_id,
        "secret": settings.secret_access_key,
        "client_kwargs": {
            "endpoint_url": obs_endpoint(settings.region, settings.obs_endpoint),
            "region_name": settings.region,
        },
        "config_kwargs": {"s3": {"addressing_style": "virtual" if not settings.obs_endpoint else "path"}},
    }
    if settings.security_token:
        options["token"] = settings.security_token
    options.update(storage_options or {})
    return ObsFileSystem(**options)


register()
