"""Airflow's ``ObjectStoragePath`` as the batch pipeline's reader and writer (local files and object stores alike).

Imported by the operator when a task runs, never at DAG parse time.
"""

from __future__ import annotations

from typing import IO, Any

from ..core.batch.journal import previous_ok_records, sibling_path, write_lines
from ..core.errors import ImageValidationError


def open_text(uri: str, mode: str) -> IO[str]:
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    path = ObjectStoragePath(uri)
    if "w" in mode:
        path.parent.mkdir(parents=True, exist_ok=True)
    handle: IO[str] = path.open(mode, encoding="utf-8")
    return handle


def exists(uri: str) -> bool:
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    return bool(ObjectStoragePath(uri).exists())


class JsonLinesOutput:
    """The operator's ``output_path``: items as JSON Lines, what an earlier try wrote, the merged vehicles beside."""

    def __init__(self, uri: str) -> None:
        self.uri = uri

    def previous_ok(self) -> dict[str, dict[str, Any]]:
        return previous_ok_records(self.uri, open_text, exists)

    def writer(self) -> IO[str]:
        return open_text(self.uri, "w")

    def write_vehicles(self, vehicles: list[dict[str, Any]]) -> str:
        return write_jsonl(sibling_path(self.uri, "vehicles"), vehicles)


def write_jsonl(uri: str, records: list[dict[str, Any]]) -> str:
    with open_text(uri, "w") as handle:
        write_lines(handle, records)
    return uri


def read_storage(uri: str, max_bytes: int) -> bytes:
    """Read an object-storage URI (the store's own connection), at most ``max_bytes``."""
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    try:
        with ObjectStoragePath(uri).open("rb") as handle:
            data: bytes = handle.read(max_bytes + 1)
    except Exception as exc:
        raise ImageValidationError(uri, "readable", f"cannot read the object ({type(exc).__name__})") from None
    if len(data) > max_bytes:
        raise ImageValidationError(uri, "max-size", f"more than the cap of {max_bytes} bytes")
    return data
