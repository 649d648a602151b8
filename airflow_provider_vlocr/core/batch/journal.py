"""JSON Lines output of a batch, and the records an earlier try already wrote (resume without a second bill).

Storage is reached through an injected opener (``ObjectStoragePath(...).open`` in the operator), so this module
works with local files and object storage alike.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import IO, Any

TextOpener = Callable[[str, str], AbstractContextManager[IO[str]]]


def previous_ok_records(path: str, open_text: TextOpener, exists: Callable[[str], bool]) -> dict[str, dict[str, Any]]:
    """Records ``ok`` in ``path`` from an earlier try, by key (a torn last line is ignored)."""
    if not exists(path):
        return {}
    found: dict[str, dict[str, Any]] = {}
    with open_text(path, "r") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # the last line of a killed writer
            if isinstance(record, dict) and record.get("status") == "ok" and record.get("key"):
                found[record["key"]] = record
    return found


def write_lines(handle: IO[str], records: Iterable[dict[str, Any]]) -> None:
    """One JSON object a line (UTF-8, non-ASCII kept)."""
    for record in records:
        handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def sibling_path(path: str, suffix: str) -> str:
    """``out.jsonl`` -> ``out.<suffix>.jsonl`` (e.g. the merged vehicles beside the items)."""
    base = path[: -len(".jsonl")] if path.endswith(".jsonl") else path
    return f"{base}.{suffix}.jsonl"
