"""Reading local files named by untrusted data: only regular files under the user's ``allowed_local_roots``."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..errors import ConfigurationError, ImageValidationError

ROOTS_ARGUMENT = "allowed_local_roots"


def parse_roots(roots: Iterable[str | os.PathLike[str]] | str | os.PathLike[str] | None) -> tuple[Path, ...]:
    """The allowed roots as resolved absolute directories (symlinks followed once, here, by the DAG author)."""
    if roots is None or roots == "":
        return ()
    if isinstance(roots, str | os.PathLike):
        roots = [roots]
    resolved = []
    for root in roots:
        if not isinstance(root, str | os.PathLike) or not str(root).strip():
            raise ConfigurationError(f"{ROOTS_ARGUMENT}: every entry must be a directory path, got {root!r}")
        text = str(root)
        if text.startswith("file://"):
            text = unquote(urlsplit(text).path)
        path = Path(text)
        if not path.is_absolute():
            raise ConfigurationError(f"{ROOTS_ARGUMENT}: {text!r} is not an absolute path")
        resolved.append(Path(os.path.realpath(path)))
    return tuple(resolved)


def file_uri_path(uri: str, name: str) -> str:
    """The local path of a ``file://`` URI (``file:///abs`` or ``file://localhost/abs``)."""
    parts = urlsplit(uri)
    if parts.netloc not in ("", "localhost"):
        raise ImageValidationError(name, "file-uri", "file:// URIs must name a local path (file:///…)")
    if parts.query or parts.fragment:
        raise ImageValidationError(name, "file-uri", "file:// URIs may not carry a query or fragment")
    return unquote(parts.path)


def read_local_file(path_text: str, roots: tuple[Path, ...], max_bytes: int, name: str) -> bytes:
    """The bytes of a regular file under one of ``roots``, after resolving symlinks and ``..``.

    Refused: no roots configured, a path outside every root, a directory, FIFO or device, a file over
    ``max_bytes`` (read no further than that), and the final component being a symlink swapped in after the check.
    """
    if not roots:
        raise ImageValidationError(
            name, ROOTS_ARGUMENT, f"local files are read only under {ROOTS_ARGUMENT} (operator argument); none are set"
        )
    if "\x00" in path_text:
        raise ImageValidationError(name, "path", "the path holds a NUL character")
    candidate = Path(path_text)
    if not candidate.is_absolute():
        candidate = Path.cwd() / candidate
    real = Path(os.path.realpath(candidate))
    if not any(real == root or real.is_relative_to(root) for root in roots):
        raise ImageValidationError(
            name, ROOTS_ARGUMENT, f"the path resolves outside {ROOTS_ARGUMENT} ({', '.join(map(str, roots))})"
        )
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ImageValidationError(name, "readable", "no such file") from None
    except OSError as exc:
        raise ImageValidationError(name, "readable", f"cannot open the file ({exc.__class__.__name__})") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ImageValidationError(
                name, "regular-file", "the path is a directory, not an image file (end it with '/' for its images)"
            )
        if not stat.S_ISREG(info.st_mode):
            raise ImageValidationError(name, "regular-file", "the path is not a regular file")
        if info.st_size > max_bytes:
            raise ImageValidationError(name, "max-size", f"{info.st_size} bytes exceed the cap of {max_bytes} bytes")
        with os.fdopen(fd, "rb") as handle:
            fd = -1  # owned by the handle now
            data = handle.read(max_bytes + 1)
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > max_bytes:
        raise ImageValidationError(name, "max-size", f"more than the cap of {max_bytes} bytes")
    return data
