"""The durable journal of a batch: every answered image is on disk before its worker takes the next one.

* A local ``output_path`` is itself the journal: items are appended, flushed and ``fsync``-ed one by one (a
  SIGKILL loses at most the calls in flight), and nothing is ever truncated while a try runs.
* Any other ``output_path`` (object storage) is journaled to a local spool file the same way, and the items not
  yet on the storage are uploaded as a small part object (``<output>.parts/``) by :meth:`Journal.flush_group`,
  which the pipeline calls before each round of new sends: an answer is on the storage before its slot is reused,
  so a try on another worker (another machine, a fresh spool) re-bills at most the calls in flight. Without that
  barrier (the core API) a group is uploaded every ``part_records`` items or ``part_seconds`` seconds.
* :meth:`Journal.finish` writes the final output: exactly one item per input (the last one written for its
  key), in input order, replacing the file atomically; parts and spool are removed. Memory stays flat: only a
  key -> offset map is held, the items themselves are streamed.

Storage is reached through an injected :class:`~.storage.Storage` (``ObjectStoragePath`` in the operator).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, cast

from ..errors import ConfigurationError
from .items import Item
from .storage import Storage

PART_RECORDS = 100
PART_SECONDS = 10.0
SPOOL_ENV = "VLOCR_SPOOL_DIR"  # where object-storage outputs are spooled (default: <temp dir>/vlocr-spool)


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
        spool_root = spool_dir or Path(os.environ.get(SPOOL_ENV) or Path(tempfile.gettempdir()) / "vlocr-spool")
        self.path = self.local or spool_root / f"{digest}.jsonl"
        self.parts = output.rstrip("/") + ".parts"
        self._lock = threading.Lock()
        self._handle: IO[str] | None = None
        self._group: list[str] = []  # lines on the spool, not yet in a part
        self._last_upload = time.monotonic()
        self._part_seq = 0
        self._writer = uuid.uuid4().hex[:8]  # parts of two writers never share a name, whatever their try number

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
            count_billed(item, billed)
        return found, billed

    def previous_ok(self) -> dict[str, Item]:
        return self.scan()[0]

    def billed_per_try(self) -> dict[str, int]:
        """Billed calls per try, counted in one streamed pass (no item is kept)."""
        billed: dict[str, int] = {}
        for item in self.earlier_items():
            count_billed(item, billed)
        return billed

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
            if self.local is None:
                self._group.append(line)
                if len(self._group) >= self.part_records or time.monotonic() - self._last_upload >= self.part_seconds:
                    self._upload_group()

    def flush_group(self) -> None:
        """Upload the items not yet on the storage as one part object (nothing for a local output, or when all
        are there)."""
        with self._lock:
            if self._group:
                self._upload_group()

    def _upload_group(self) -> None:
        """The pending lines as a new part object (the spool keeps them too, until the output is final)."""
        self._part_seq += 1
        part = f"{self.parts}/part-{self.try_number:03d}-{self._writer}-{self._part_seq:06d}.jsonl"
        with self.storage.open_text(part, "w") as target:
            target.write("".join(self._group))
        self._group.clear()
        self._last_upload = time.monotonic()

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                if self._group:
                    self._upload_group()
                self._handle.close()
                self._handle = None

    def finish(self) -> int:
        """Write the final output (one item per key, the last written, in input order); returns its size."""
        self.close()
        if self.local is not None:
            return compact(self.local)
        gathered = self.path.with_name(self.path.name + ".final")
        gathered.parent.mkdir(parents=True, exist_ok=True)
        with gathered.open("w", encoding="utf-8") as target:
            for item in self.earlier_items():
                target.write(json.dumps(item, ensure_ascii=False) + "\n")
        try:
            count = compact(gathered)
            with gathered.open(encoding="utf-8") as source, self.storage.open_text(self.output, "w") as handle:
                for line in source:
                    handle.write(line)
        finally:
            gathered.unlink(missing_ok=True)
        for part in self.storage.files(self.parts) if self.storage.exists(self.parts) else []:
            self.storage.delete(part)
        self.path.unlink(missing_ok=True)
        return count


def count_billed(item: Item, billed: dict[str, int]) -> None:
    """Count ``item`` in ``billed`` (try number -> billed calls) when it was billed."""
    if item.get("billed"):
        try_number = str(item.get("try_number", "?"))
        billed[try_number] = billed.get(try_number, 0) + 1


def compact(path: Path) -> int:
    """Rewrite a JSON Lines journal in place: the last item per key, in input order (atomically, with flat memory:
    one pass for offsets, one to copy in order). Returns the number of items kept."""
    last: dict[str, tuple[int, int]] = {}
    with path.open("rb") as source:
        offset = 0
        for raw in source:
            item = next(read_items([raw.decode("utf-8", "replace")]), None)
            if item is not None:
                key = str(item.get("key") or f"#index-{item.get('index')}")
                last[key] = (int(item.get("index") or 0), offset)
            offset += len(raw)
    temporary = path.with_name(path.name + ".tmp")
    with path.open("rb") as source, temporary.open("wb") as target:
        for _, at in sorted(last.values()):
            source.seek(at)
            line = source.readline()
            target.write(line if line.endswith(b"\n") else line + b"\n")
        target.flush()
        os.fsync(target.fileno())
    os.replace(temporary, path)
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
