"""Airflow's ``ObjectStoragePath`` as the batch pipeline's reader and the journal's storage (local files and object
stores alike). Imported by the operator when a task runs, never at DAG parse time."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

from ..core.batch.journal import sibling_path, write_lines
from ..core.errors import ImageValidationError

LOCAL_PROTOCOLS = ("file", "local")


def _path(uri: str, obs_conn_id: str | None = None) -> Any:
    """The ``ObjectStoragePath`` of ``uri``; ``obs://`` paths use the vlocr connection ``obs_conn_id`` (its AK/SK),
    other stores their own default connection."""
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    if uri[:6].lower() == "obs://":
        from ..fs import obs  # noqa: F401  (registers the obs protocol)

        return ObjectStoragePath(uri, conn_id=obs_conn_id) if obs_conn_id else ObjectStoragePath(uri)
    return ObjectStoragePath(uri)


class ObjectStorage:
    """The journal's :class:`~airflow_provider_vlocr.core.batch.journal.Storage` over ``ObjectStoragePath``;
    ``obs://`` URIs use the vlocr connection ``obs_conn_id`` (its AK/SK), other stores their own connection."""

    def __init__(self, obs_conn_id: str | None = None) -> None:
        self.obs_conn_id = obs_conn_id

    def local_path(self, uri: str) -> Path | None:
        if "://" not in uri:
            return Path(uri)
        path = _path(uri, self.obs_conn_id)
        protocol = path.protocol if isinstance(path.protocol, str) else path.protocol[0]
        return Path(path.path) if protocol in LOCAL_PROTOCOLS else None

    def open_text(self, uri: str, mode: str) -> IO[str]:
        path = _path(uri, self.obs_conn_id)
        if "w" in mode:
            path.parent.mkdir(parents=True, exist_ok=True)
        handle: IO[str] = path.open(mode, encoding="utf-8")
        if not hasattr(type(handle), "__iter__"):  # Airflow 3.0's lineage wrapper: the file it wraps iterates
            handle = handle._obj  # type: ignore[attr-defined]
        return handle

    def exists(self, uri: str) -> bool:
        return bool(_path(uri, self.obs_conn_id).exists())

    def files(self, uri: str) -> list[str]:
        return sorted(str(child) for child in _path(uri, self.obs_conn_id).iterdir() if child.is_file())

    def delete(self, uri: str) -> None:
        _path(uri, self.obs_conn_id).unlink(missing_ok=True)

    def write_text(self, uri: str, text: str) -> str:
        """Write ``text`` to ``uri``; returns it."""
        with self.open_text(uri, "w") as handle:
            handle.write(text)
        return uri

    def write_vehicles(self, output: str, vehicles: list[dict[str, Any]]) -> str:
        """The merged vehicles as JSON Lines beside ``output``; returns their URI."""
        target = sibling_path(output, "vehicles")
        with self.open_text(target, "w") as handle:
            write_lines(handle, vehicles)
        return target


def read_storage(uri: str, max_bytes: int, obs_conn_id: str | None = None) -> bytes:
    """Read an object-storage URI (the store's own connection; ``obs://`` the vlocr one), at most ``max_bytes``."""
    try:
        with _path(uri, obs_conn_id).open("rb") as handle:
            data: bytes = handle.read(max_bytes + 1)
    except Exception as exc:
        raise ImageValidationError(uri, "readable", f"cannot read the object ({type(exc).__name__})") from None
    if len(data) > max_bytes:
        raise ImageValidationError(uri, "max-size", f"more than the cap of {max_bytes} bytes")
    return data


def list_storage(uri: str, obs_conn_id: str | None = None) -> list[str]:
    """The object URIs a prefix (``…/``) or glob (``…/*.jpg``) names, with the store's own connection (``obs://``:
    the vlocr one); plain URIs, never naming the connection."""
    path = _path(uri, obs_conn_id)
    protocol = path.protocol if isinstance(path.protocol, str) else path.protocol[0]
    local = protocol in LOCAL_PROTOCOLS  # file:///abs keeps its leading slash; bucket/key has none

    def plain(name: str) -> str:
        return f"{protocol}://{name if local else name.lstrip('/')}"

    if uri.endswith("/"):
        return sorted(plain(child.path) for child in path.iterdir() if child.is_file())
    return sorted(plain(match) for match in path.fs.glob(path.path))
