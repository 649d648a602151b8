"""OpenLineage for a batch: one input dataset per source folder or prefix (not one per image), the results file as
the output. Needs the ``openlineage`` extra (Airflow's OpenLineage provider); imported only when lineage is asked."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

Location = tuple[str, str]  # (namespace, name) in OpenLineage's naming: file / s3://bucket / https://host


def location_of(uri: str) -> Location | None:
    """Where a file lives in OpenLineage's naming: ``("file", "/abs/path")``, ``("s3://bucket", "key")``, ``("https://
    host", "/path")``; ``None`` for items that are no location (bytes)."""
    if uri.startswith("<"):
        return None
    if "://" not in uri:
        return "file", posixpath.normpath(uri)
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme in ("file", "local"):
        return "file", posixpath.normpath(parts.path)
    if scheme in ("http", "https"):
        return f"{scheme}://{parts.hostname or ''}", parts.path or "/"  # no query: it may hold a signature
    return f"{scheme}://{parts.netloc}", parts.path.lstrip("/")


def folder_of(uri: str) -> Location | None:
    """The folder or prefix holding a file (the batch's input datasets are folders, not images)."""
    found = location_of(uri)
    if found is None:
        return None
    namespace, name = found
    return namespace, posixpath.dirname(name.rstrip("/")) or ("/" if name.startswith("/") else "")


class SourceFolders:
    """The distinct folders the ok items of a batch came from, in first-seen order (bounded by folders, not images)."""

    def __init__(self) -> None:
        self.folders: dict[Location, None] = {}

    def note(self, record: dict[str, Any]) -> dict[str, Any]:
        if record.get("status") == "ok" and isinstance(record.get("source"), str):
            folder = folder_of(record["source"])
            if folder is not None:
                self.folders.setdefault(folder, None)
        return record


def batch_lineage(folders: Iterable[Location], output_path: str | None) -> Any:
    """The ``OperatorLineage`` of a batch: input folders, and the results file when there is one."""
    from airflow.providers.openlineage.extractors import OperatorLineage
    from openlineage.client.event_v2 import Dataset

    inputs = [Dataset(namespace=namespace, name=name) for namespace, name in folders]
    output = location_of(output_path) if output_path else None
    outputs = [Dataset(namespace=output[0], name=output[1])] if output else []
    return OperatorLineage(inputs=inputs, outputs=outputs)
