"""Loading an item's image under the user's rules: URLs by the download policy, local files under the allowed
roots, object-storage URIs through an injected reader, raw bytes as given."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigurationError, ImageValidationError
from ..fetch.download import DownloadPolicy, download_image, requote
from ..fetch.localfiles import file_uri_path, parse_roots, read_local_file
from .expand import StorageLister
from .inputs import LOCAL_SCHEMES, URL_MODES, ImageTask, UrlMode, storage_scheme, wants_download

StorageReader = Callable[[str, int], bytes]


@dataclass(frozen=True)
class ImageLoader:
    """Turns an :class:`ImageTask` into image bytes, or into a URL for an engine that fetches URLs itself.

    :param url_mode: ``remote`` (the engine fetches URLs), ``download`` (we do), ``auto`` (we fetch private and
        intranet hosts, which the cloud cannot reach, when the policy allows them).
    :param policy: the download policy (allowed private hosts, deadline, byte cap).
    :param local_roots: directories local paths and ``file://`` URIs must resolve into.
    :param storage_reader: reads ``(uri, max_bytes)`` from object storage.
    :param storage_lister: lists the objects a prefix or glob URI names (folder and glob items).
    :param engine_fetches_urls: whether the engine accepts URLs (else every URL is downloaded here).
    """

    url_mode: UrlMode = "auto"
    policy: DownloadPolicy = field(default_factory=DownloadPolicy)
    local_roots: tuple[Path, ...] = ()
    storage_reader: StorageReader | None = None
    engine_fetches_urls: bool = False
    storage_lister: StorageLister | None = None

    @classmethod
    def build(
        cls,
        *,
        url_mode: str = "auto",
        allowed_hosts: Iterable[str] | str | None = None,
        local_roots: Iterable[str | os.PathLike[str]] | str | None = None,
        storage_reader: StorageReader | None = None,
        storage_lister: StorageLister | None = None,
        engine_fetches_urls: bool = False,
        timeout: tuple[float, float] | None = None,
        deadline_seconds: float | None = None,
    ) -> ImageLoader:
        if url_mode not in URL_MODES:
            raise ConfigurationError(f"argument 'url_mode' must be one of {', '.join(URL_MODES)}, got {url_mode!r}")
        return cls(
            url_mode=url_mode,  # type: ignore[arg-type]
            policy=DownloadPolicy.build(allowed_hosts, timeout=timeout, deadline_seconds=deadline_seconds),
            local_roots=parse_roots(local_roots),
            storage_reader=storage_reader,
            engine_fetches_urls=engine_fetches_urls,
            storage_lister=storage_lister,
        )

    def load(self, task: ImageTask) -> bytes | str:
        """The image bytes, or the URL itself when the engine is to fetch it."""
        if isinstance(task.value, bytes):
            return task.value
        if task.kind == "url":
            if self.engine_fetches_urls and not wants_download(task.value, self.url_mode):
                return requote(task.value)  # as browsers send it: the engine's server fetches it
            return download_image(task.value, self.policy, name=task.source)
        return self.read_path(task.value, task.source)

    def read_path(self, value: str, name: str) -> bytes:
        """A local path, a ``file://`` URI or an object-storage URI."""
        scheme = storage_scheme(value, name)
        if scheme in LOCAL_SCHEMES:
            path = file_uri_path(value, name) if scheme else value
            return read_local_file(path, self.local_roots, self.policy.max_bytes, name)
        if self.storage_reader is None:
            raise ImageValidationError(name, "storage", "no object-storage reader is configured")
        try:
            return self.storage_reader(value, self.policy.max_bytes)
        except ImageValidationError:
            raise
        except (OSError, ValueError) as exc:
            raise ImageValidationError(name, "readable", f"cannot read the object ({exc.__class__.__name__})") from None
