"""What the journal and the result cache need of a store: local files or object storage (``ObjectStoragePath`` in
the operator, injected so the core imports no Airflow)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, Protocol


class Storage(Protocol):
    """A store of text files addressed by URI."""

    def local_path(self, uri: str) -> Path | None: ...  # the file on this machine, when the URI is local

    def open_text(self, uri: str, mode: str) -> AbstractContextManager[IO[str]]: ...

    def exists(self, uri: str) -> bool: ...

    def files(self, uri: str) -> list[str]: ...  # files under a folder URI (sorted)

    def delete(self, uri: str) -> None: ...
