"""Turn the operator's ``images`` argument into :class:`ImageTask` items (parsing only, no I/O).

Accepted items: an http(s) URL; an object-storage URI (``s3://``, ``gs://`` …, read by a pluggable reader,
Airflow's ``ObjectStoragePath`` in the operator); a local path or ``file://`` URI; raw ``bytes``; or a dict
``{"url"|"path": ..., "side": ..., "id": ...}``. Items are untrusted data: a malformed one becomes an
:class:`ImageValidationError` naming the item and the rule, and its content is never echoed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from ...licence.schema import SIDES, URL_MODES
from ..checks import label_of
from ..errors import ConfigurationError, ImageValidationError
from ..fetch.netpolicy import is_intranet_host

# Object stores read through the reader (Airflow's ObjectStoragePath with the store's own connection). Other
# fsspec protocols (ftp, sftp, http, memory, zip, data, chained "a::b" URLs …) could reach what the download
# policy or the allowed roots refuse, so items naming them are refused.
STORAGE_SCHEMES = frozenset(
    {"s3", "s3a", "gs", "gcs", "abfs", "abfss", "az", "adl", "wasb", "wasbs", "obs", "oss", "hdfs", "webhdfs"}
)
LOCAL_SCHEMES = ("", "file", "local")
UrlMode = Literal["remote", "download", "auto"]
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")
Kind = Literal["url", "path", "bytes"]


@dataclass(frozen=True)
class ImageTask:
    """One input image: where it comes from and how to name it."""

    index: int
    source: str
    id: str
    kind: Kind
    value: str | bytes = field(repr=False)
    side: str | None = None


def storage_scheme(value: str, name: str) -> str:
    """The scheme of a path or object-storage item (``""`` for a plain path), after the rules every such item obeys
    whether it is read or listed: no chained fsspec URL, only object stores, no connection named in the URI."""
    scheme = value.split("://", 1)[0].lower() if "://" in value else ""
    if "::" in value.split("://", 1)[0] or (scheme and "::" in value):
        raise ImageValidationError(name, "storage-scheme", "chained fsspec URLs (a::b) are refused")
    if scheme in LOCAL_SCHEMES:
        return scheme
    if scheme not in STORAGE_SCHEMES:
        stores = ", ".join(sorted(STORAGE_SCHEMES))
        raise ImageValidationError(name, "storage-scheme", f"scheme {scheme!r} is not an object store ({stores})")
    if "@" in urlsplit(value).netloc:
        raise ImageValidationError(
            name, "storage-uri", "object-storage URIs may not name a connection or user (conn_id@bucket)"
        )
    return scheme


def as_list(images: Any) -> list[Any]:
    """One item or many; a lazy XCom sequence becomes a list."""
    if images is None:
        return []
    if isinstance(images, str | bytes | bytearray | Path | Mapping):
        return [images]
    try:
        return list(images)
    except TypeError:
        return [images]


def _item_error(index: int, rule: str, detail: str) -> ImageValidationError:
    return ImageValidationError(f"item #{index}", rule, detail)


def _task(index: int, item: Any, default_side: str | None) -> ImageTask:
    side = default_side
    given_id: str | None = None
    if isinstance(item, Mapping):
        unknown = sorted(str(k)[:40] for k in set(item) - {"url", "path", "side", "id"})
        keys = [k for k in ("url", "path") if item.get(k) is not None]
        if unknown or len(keys) != 1:
            detail = f"unknown key(s) {unknown}; " if unknown else ""
            raise _item_error(
                index,
                "item-shape",
                detail + 'a dict item needs exactly one of "url" or "path" (plus optional "side" and "id")',
            )
        side = item.get("side") or default_side
        raw_id = item.get("id")
        if raw_id is not None and not isinstance(raw_id, str | int):
            raise _item_error(index, "item-shape", f'"id" must be a string or an integer, got {type(raw_id).__name__}')
        given_id = None if raw_id is None else label_of(str(raw_id))
        value: Any = item[keys[0]]
        if keys[0] == "url" and not (isinstance(value, str) and is_http(value)):
            raise _item_error(index, "item-shape", '"url" must be an http(s) URL string')
    else:
        value = item
    if side is not None and side not in SIDES:
        raise _item_error(index, "side", f"side must be one of {', '.join(SIDES)}, got {str(side)[:40]!r}")
    if isinstance(value, bytes | bytearray):
        source = f"<bytes #{index}>"
        return ImageTask(index, source, given_id or f"bytes-{index}", "bytes", bytes(value), side)
    if isinstance(value, Path):
        value = str(value)
    if not isinstance(value, str):
        raise _item_error(index, "item-type", f"expected a URL, path, bytes or dict, got {type(value).__name__}")
    value = value.strip()
    if not value:
        raise _item_error(index, "item-type", "the item is an empty string")
    label = label_of(value)
    if value[:5].lower() == "data:":
        raise ImageValidationError(label, "data-uri", "data: URIs are not accepted; pass the decoded bytes")
    kind: Literal["url", "path"] = "url" if is_http(value) else "path"
    return ImageTask(index, label, given_id or label, kind, value, side)


def is_http(value: str) -> bool:
    scheme = _SCHEME.match(value)
    return bool(scheme) and scheme.group(1).lower() in ("http", "https")  # type: ignore[union-attr]


def parse_images(images: Any, default_side: str | None = None) -> Iterator[ImageTask | ImageValidationError]:
    """One :class:`ImageTask` per item, or the error that item got (so no item is dropped)."""
    for index, item in enumerate(as_list(images)):
        if isinstance(item, ImageValidationError):  # an item that could not be expanded (see expand.py)
            yield item
            continue
        try:
            yield _task(index, item, default_side)
        except ImageValidationError as error:
            yield error


def wants_download(url: str, mode: UrlMode) -> bool:
    """Whether the worker fetches ``url`` (``download``) or Huawei does (``remote``); ``auto`` downloads
    only private and intranet hosts, which Huawei cannot reach (and the download policy then refuses them
    unless they are in ``download_allowed_hosts``)."""
    if mode not in URL_MODES:
        raise ConfigurationError(f"url_mode must be one of {URL_MODES}, got {mode!r}")
    if mode == "auto":
        return is_intranet_host(urlsplit(url).hostname or "")
    return mode == "download"
