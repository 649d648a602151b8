"""The durable journal of a batch: every answered image is on disk before its worker takes the next one.

* A local ``output_path`` is itself the journal: items are appended, flushed and ``fsync``-ed one by one (a
  SIGKILL loses at most the calls in flight), and nothing is ever truncated while a try runs.
* Any other ``output_path`` (object storage) is journaled to a local spool file the same way, and the spool is
  uploaded as a part file (``<output>.parts/``) every ``part_records`` items or ``part_seconds`` seconds, so
  a try on another worker resumes from the parts.
* :meth:`Journal.finish` writes the final output: exactly one item per input (the last one written for its
  key), in input order, replacing the file atomically; parts and spool are removed.

Storage is reached through an injected :class:`~.storage.Storage` (``ObjectStoragePath`` in the operator).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, cast

from ..errors import ConfigurationError
from .items import Item
from .storage import Storage

PART_RECORDS = 100
PART_SECONDS = 10.0


def read_items(lines: Iterable[str]) -> Iterator[Item]:
    """The items of a JSON Lines stream; a torn last line (a killed writer) is skipped."""
    for line in lines:
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(item, dict):
            yield cast(Item, item)


class Journal:
    """Appends items durably for ``output`` (see the module docstring); thread-safe."""

    def __init__(
        self,
        output: str,
        storage: Storage,
        *,
        try_number: int = 1,
        part_records: int = PART_RECORDS,
        part_seconds: float = PART_SECONDS,
        spool_dir: Path | None = None,
    ) -> None:
        self.output = output
        self.storage = storage
        self.try_number = try_number
        self.part_records = part_records
        self.part_seconds = part_seconds
        self.local = storage.local_path(output)
        digest = hashlib.sha256(output.encode("utf-8")).hexdigest()[:24]
        spool_root = spool_dir or Path(tempfile.gettempdir()) / "vlocr-spool"
        self.path = self.local or spool_root / f"{digest}.jsonl"
        self.parts = output.rstrip("/") + ".parts"
        self._lock = threading.Lock()
        self._handle: IO[str] | None = None
        self._unuploaded = 0
        self._last_upload = time.monotonic()
        self._part_seq = 0

    # -- reading what earlier tries wrote ----------------------------------------------------------------
    def earlier_items(self) -> Iterator[Item]:
        """Items of earlier tries: the final output, uploaded parts, and this machine's spool."""
        if self.local is None:
            if self.storage.exists(self.output):
                with self.storage.open_text(self.output, "r") as handle:
                    yield from read_items(handle)
            for part in self.storage.files(self.parts) if self.storage.exists(self.parts) else []:
                with self.storage.open_text(part, "r") as handle:
                    yield from read_items(handle)
        if self.path.exists():
            with self.path.open(encoding="utf-8") as handle:
                yield from read_items(handle)

    def scan(self) -> tuple[dict[str, Item], dict[str, int]]:
        """One pass over what earlier tries wrote: the last ``ok`` item per key (resume: not sent again) and the
        billed calls per try (``try_number`` -> count)."""
        found: dict[str, Item] = {}
        billed: dict[str, int] = {}
        for item in self.earlier_items():
            if item.get("status") == "ok" and item.get("key"):
                found[str(item["key"])] = item
            if item.get("billed"):
                try_number = str(item.get("try_number", "?"))
                billed[try_number] = billed.get(try_number, 0) + 1
        return found, billed

    def previous_ok(self) -> dict[str, Item]:
        return self.scan()[0]

    def billed_per_try(self) -> dict[str, int]:
        return self.scan()[1]

    # -- writing ------------------------------------------------------------------------------------------
    def open(self) -> Journal:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise ConfigurationError(
                f"output_path {self.output!r}: a part of {self.path.parent} is a file, not a folder"
            ) from None
        torn = False
        if self.path.exists() and self.path.stat().st_size > 0:
            with self.path.open("rb") as existing:
                existing.seek(-1, os.SEEK_END)
                torn = existing.read(1) != b"\n"
        self._handle = self.path.open("a", encoding="utf-8")
        if torn:  # a writer killed mid-line: end that line, so the next item stands on its own
            self._handle.write("\n")
        return self

    def append(self, item: Item) -> None:
        """Write one item and force it to disk before returning."""
        line = json.dumps(item, ensure_ascii=False) + "\n"
        with self._lock:
            assert self._handle is not None, "open() the journal first"
            self._handle.write(line)
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._unuploaded += 1
            if self.local is None and (
                self._unuploaded >= self.part_records or time.monotonic() - self._last_upload >= self.part_seconds
            ):
                self._upload_part()

    def _upload_part(self) -> None:
        """Copy the spool to a new part file (the spool stays until the output is final)."""
        self._part_seq += 1
        part = f"{self.parts}/part-{self.try_number:03d}-{self._part_seq:05d}.jsonl"
        with self.path.open(encoding="utf-8") as source, self.storage.open_text(part, "w") as target:
            for line in source:
                target.write(line)
        self._unuploaded = 0
        self._last_upload = time.monotonic()

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                if self.local is None and self._unuploaded:
                    self._upload_part()
                self._handle.close()
                self._handle = None

    def finish(self) -> int:
        """Write the final output (one item per key, the last written, in input order); returns its size."""
        self.close()
        if self.local is not None:
            return self._finish_local()
        last: dict[str, Item] = {}
        for item in self.earlier_items():
            key = item.get("key") or f"#index-{item.get('index')}"
            last[str(key)] = item
        ordered = sorted(last.values(), key=lambda r: (r.get("index") is None, r.get("index") or 0))
        with self.storage.open_text(self.output, "w") as handle:
            write_lines(handle, ordered)
        for part in self.storage.files(self.parts) if self.storage.exists(self.parts) else []:
            self.storage.delete(part)
        self.path.unlink(missing_ok=True)
        return len(ordered)

    def _finish_local(self) -> int:
        """Compact the local journal in place with flat memory: one pass for offsets, one to copy in order."""
        assert self.local is not None
        last: dict[str, tuple[int, int]] = {}
        with self.local.open("rb") as source:
            offset = 0
            for raw in source:
                item = next(read_items([raw.decode("utf-8", "replace")]), None)
                if item is not None:
                    key = str(item.get("key") or f"#index-{item.get('index')}")
                    last[key] = (int(item.get("index") or 0), offset)
                offset += len(raw)
        temporary = self.local.with_name(self.local.name + ".tmp")
        with self.local.open("rb") as source, temporary.open("wb") as target:
            for _, at in sorted(last.values()):
                source.seek(at)
                target.write(source.readline())
            target.flush()
            os.fsync(target.fileno())
        os.replace(temporary, self.local)
        return len(last)


def write_items(items: Iterable[Item], journal: Journal | None, seen: Callable[[Item], None]) -> list[Item]:
    """Journal every new item as it arrives (or collect them all when there is no journal, sorted into input
    order), showing each to ``seen`` (the manifest's tally); returns the collected items."""
    collected: list[Item] = []
    for item in items:
        seen(item)
        if journal is None:
            collected.append(item)
        elif not item.get("resumed") or item.get("reshaped"):  # a re-shaped answer replaces its old line
            journal.append(item)
    return sorted(collected, key=lambda item: item["index"])


def write_lines(handle: IO[str], items: Iterable[Mapping[str, Any]]) -> None:
    """One JSON object a line (UTF-8, non-ASCII kept)."""
    for item in items:
        handle.write(json.dumps(item, ensure_ascii=False) + "\n")


def sibling_path(path: str, suffix: str, extension: str = ".jsonl") -> str:
    """``out.jsonl`` -> ``out.<suffix>.jsonl`` (e.g. the merged vehicles beside the items), or another extension
    (``out.review.html``)."""
    base = path[: -len(".jsonl")] if path.endswith(".jsonl") else path
    return f"{base}.{suffix}{extension}"
