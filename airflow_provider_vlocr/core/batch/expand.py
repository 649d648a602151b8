"""Folder, prefix and glob items expanded to the image files they name, under the same rules as single files.

An item ending in ``/`` or holding ``*`` or ``?`` (``obs://bucket/incoming/2026-11-24/``, ``s3://bucket/x/*.jpg``,
``/data/licences/``) stands for the image files it names, by extension (jpg, jpeg, png, bmp, tif, tiff), in sorted
order. Local folders are listed only under ``allowed_local_roots`` (each file is checked again when read); object
stores through an injected lister (Airflow's ``ObjectStoragePath`` in the operator). One item expands to at most
:data:`MAX_EXPANDED` images: beyond that it is one error record, so a typo cannot start a million billed calls.
"""

from __future__ import annotations

import fnmatch
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..checks import label_of
from ..errors import ImageValidationError
from ..fetch.localfiles import ROOTS_ARGUMENT, file_uri_path
from .inputs import LOCAL_SCHEMES, as_list, is_http, storage_scheme

log = logging.getLogger(__name__)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
MAX_EXPANDED = 10_000
StorageLister = Callable[[str], list[str]]  # a folder or glob URI -> the object URIs it names


def is_collection(value: str) -> bool:
    """Whether a path or object-storage item names many files: a folder or prefix (trailing ``/``) or a glob
    (``*``, ``?``). An http(s) URL is always one image."""
    return value.endswith("/") or "*" in value or "?" in value


def expand_items(
    images: Any, *, local_roots: tuple[Path, ...], lister: StorageLister | None, cap: int = MAX_EXPANDED
) -> list[Any]:
    """``images`` with every folder, prefix or glob item replaced by its image files (dict items keep their
    ``side``); an item that cannot be expanded becomes the :class:`ImageValidationError` saying why."""
    out: list[Any] = []
    for item in as_list(images):
        value = item.get("path") if isinstance(item, Mapping) else item
        if not isinstance(value, str) or is_http(value.strip()) or not is_collection(value.strip()):
            out.append(item)
            continue
        name = label_of(value)
        try:
            files = _list(value.strip(), name, local_roots, lister)
            if len(files) > cap:
                raise ImageValidationError(
                    name, "expand-cap", f"names {len(files)} images, more than {cap}; split it (by prefix or date)"
                )
        except ImageValidationError as error:
            out.append(error)
            continue
        side = item.get("side") if isinstance(item, Mapping) else None
        out += [{"path": f, "side": side} if side else f for f in files]
    return out


def _list(value: str, name: str, roots: tuple[Path, ...], lister: StorageLister | None) -> list[str]:
    scheme = storage_scheme(value, name)
    if scheme in LOCAL_SCHEMES:
        files = _list_local(file_uri_path(value, name) if scheme else value, name, roots)
        return [f"file://{f}" for f in files] if scheme else files
    if lister is None:
        raise ImageValidationError(name, "storage", "no object-storage lister is configured")
    try:
        found = lister(value)
    except (OSError, ValueError) as exc:
        raise ImageValidationError(name, "readable", f"cannot list the objects ({type(exc).__name__})") from None
    return images_among(found, name)


def images_among(files: list[str], name: str) -> list[str]:
    """The image files among ``files`` (by extension), sorted; the others are said in the log, never read."""
    images = sorted(f for f in files if f.lower().endswith(IMAGE_EXTENSIONS))
    others = [f for f in files if not f.lower().endswith(IMAGE_EXTENSIONS)]
    if others:
        kinds = sorted({os.path.splitext(f)[1].lower() or "(none)" for f in others})
        log.warning("%s: %d file(s) skipped, not images by extension (%s)", name, len(others), ", ".join(kinds[:5]))
    return images


def _list_local(pattern: str, name: str, roots: tuple[Path, ...]) -> list[str]:
    """Image files of a folder or a glob's folder, which must resolve under one of ``roots`` (no recursion)."""
    if not roots:
        raise ImageValidationError(name, ROOTS_ARGUMENT, f"local folders are listed only under {ROOTS_ARGUMENT}")
    folder_text, glob = (pattern, "*") if pattern.endswith("/") else os.path.split(pattern)
    if any(ch in folder_text for ch in "*?["):
        raise ImageValidationError(name, "glob", "wildcards are allowed in the last path component only")
    folder = Path(os.path.realpath(folder_text))
    if not any(folder == root or folder.is_relative_to(root) for root in roots):
        allowed = ", ".join(map(str, roots))
        raise ImageValidationError(name, ROOTS_ARGUMENT, f"the folder resolves outside {ROOTS_ARGUMENT} ({allowed})")
    if not folder.is_dir():
        raise ImageValidationError(name, "readable", "no such folder")
    matched = [str(folder / entry.name) for entry in os.scandir(folder)
               if entry.is_file(follow_symlinks=False) and fnmatch.fnmatch(entry.name, glob)]  # fmt: skip
    return images_among(matched, name)
