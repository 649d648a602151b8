"""Turn the operator's ``images`` argument into :class:`ImageTask` items and load their bytes.

Accepted items: an http(s) URL; an object-storage URI (``obs://``, ``s3://``, ``gs://``, ``file://`` …, read by
a pluggable reader, Airflow's ``ObjectStoragePath`` in the operator); a local path (``str`` or ``Path``); raw
``bytes``; or a dict ``{"url"|"path": ..., "side": ..., "id": ...}``.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from .batch import ImageTask
from .errors import ConfigurationError, ImageValidationError
from .models import SIDES

UrlMode = Literal["remote", "download", "auto"]
URL_MODES = ("remote", "download", "auto")
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")
PRIVATE_SUFFIXES = (".local", ".internal", ".lan", ".intranet", ".corp", ".home.arpa")


def as_list(images: Any) -> list[Any]:
    """One item or many; a lazy XCom sequence becomes a list."""
    if images is None:
        return []
    if isinstance(images, str | bytes | Path | Mapping):
        return [images]
    return list(images)


def _task(index: int, item: Any, default_side: str | None) -> ImageTask:
    side = default_side
    given_id: str | None = None
    if isinstance(item, Mapping):
        unknown = set(item) - {"url", "path", "side", "id"}
        keys = [k for k in ("url", "path") if item.get(k)]
        if unknown or len(keys) != 1:
            raise ImageValidationError(
                f"item #{index}", "item-shape", 'a dict item needs exactly one of "url" or "path" (plus "side", "id")'
            )
        side = item.get("side") or default_side
        given_id = None if item.get("id") is None else str(item["id"])
        value: Any = item[keys[0]]
    else:
        value = item
    if side is not None and side not in SIDES:
        raise ImageValidationError(f"item #{index}", "side", f"side must be one of {SIDES}, got {side!r}")
    if isinstance(value, bytes | bytearray):
        source = f"<bytes #{index}>"
        return ImageTask(index, source, given_id or f"bytes-{index}", "bytes", bytes(value), side)
    if isinstance(value, Path):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise ImageValidationError(f"item #{index}", "item-type", f"expected a URL, path or bytes, got {type(value)}")
    value = value.strip()
    scheme = _SCHEME.match(value)
    kind: Literal["url", "path"] = "url" if scheme and scheme.group(1).lower() in ("http", "https") else "path"
    return ImageTask(index, value, given_id or value, kind, value, side)


def parse_images(images: Any, default_side: str | None = None) -> Iterator[ImageTask | ImageValidationError]:
    """One :class:`ImageTask` per item, or the error that item got (so no item is dropped)."""
    for index, item in enumerate(as_list(images)):
        try:
            yield _task(index, item, default_side)
        except ImageValidationError as error:
            yield error


def is_private_host(host: str) -> bool:
    """Loopback, private or link-local addresses and intranet-looking names Huawei cannot reach."""
    host = host.lower().strip("[]")
    if not host or host == "localhost" or "." not in host or host.endswith(PRIVATE_SUFFIXES):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_private or address.is_loopback or address.is_link_local or address.is_reserved


def wants_download(url: str, mode: UrlMode) -> bool:
    """Whether to fetch ``url`` ourselves (``download``) or let Huawei fetch it (``remote``)."""
    if mode not in URL_MODES:
        raise ConfigurationError(f"url_mode must be one of {URL_MODES}, got {mode!r}")
    if mode == "auto":
        return is_private_host(urlsplit(url).hostname or "")
    return mode == "download"


def read_path(value: str, storage_reader: Callable[[str], bytes] | None) -> bytes:
    """Read a local path or an object-storage URI; errors name the image."""
    try:
        if _SCHEME.match(value):
            if storage_reader is None:
                raise ImageValidationError(value, "storage", "no object-storage reader is configured")
            return storage_reader(value)
        return Path(value).expanduser().read_bytes()
    except ImageValidationError:
        raise
    except (OSError, ValueError) as exc:
        raise ImageValidationError(value, "readable", f"{type(exc).__name__}: {exc}") from None


def occurrence_keys(tasks: Iterable[ImageTask]) -> Iterator[tuple[ImageTask, str]]:
    """A stable key per task: its id plus the occurrence number of that id (ids may repeat)."""
    seen: Counter[str] = Counter()
    for task in tasks:
        seen[task.id] += 1
        yield task, f"{task.id}#{seen[task.id]}"
