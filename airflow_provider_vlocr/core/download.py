"""Fetching an image from an http(s) URL with safety rules: allowed hosts only, bounded size and time."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urljoin, urlsplit

import requests

from .errors import ImageValidationError, InvalidRequestError, TransportError
from .images import MAX_BASE64_BYTES

MAX_DOWNLOAD_BYTES = MAX_BASE64_BYTES * 3 // 4
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
MAX_REDIRECTS = 3


def host_allowed(host: str, allowed: Iterable[str]) -> bool:
    """``host`` matches an allowed name exactly, as a ``*.suffix`` wildcard, or is loopback when allowed."""
    host = host.lower().strip("[]")
    for pattern in allowed:
        pattern = pattern.lower().strip("[]")
        if pattern == "*" or host == pattern:
            return True
        if pattern.startswith("*.") and host.endswith(pattern[1:]):
            return True
        if pattern in LOOPBACK_HOSTS and _is_loopback(host):
            return True
    return False


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def download_image(
    url: str,
    *,
    allowed_hosts: Iterable[str] | None = None,
    timeout: tuple[float, float] = (5.0, 30.0),
    session: requests.Session | None = None,
    max_bytes: int = MAX_DOWNLOAD_BYTES,
) -> bytes:
    """Download ``url``; refuse other schemes, hosts outside ``allowed_hosts`` (``None``: any) and big bodies."""
    allowed = None if allowed_hosts is None else list(allowed_hosts)
    http = session or requests.Session()
    current = url
    try:
        for _ in range(MAX_REDIRECTS + 1):
            parts = urlsplit(current)
            if parts.scheme not in ("http", "https"):
                raise ImageValidationError(url, "url-scheme", f"only http(s) URLs are downloaded, got {parts.scheme!r}")
            if allowed is not None and not host_allowed(parts.hostname or "", allowed):
                raise InvalidRequestError(
                    f"The URL is not allowed: host {parts.hostname!r} is not in the allow-list",
                    error_code="ModelArts.4601",
                    image=url,
                )
            try:
                response = http.get(current, timeout=timeout, stream=True, allow_redirects=False)
            except requests.RequestException as exc:
                raise TransportError(f"download of {url!r} failed: {type(exc).__name__}", image=url) from None
            with response:
                if response.is_redirect and response.headers.get("Location"):
                    current = urljoin(current, response.headers["Location"])
                    continue
                if response.status_code != 200:
                    raise InvalidRequestError(
                        f"Obtaining the file from the URL failed: HTTP {response.status_code}",
                        error_code="ModelArts.4603",
                        image=url,
                    )
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise ImageValidationError(url, "max-size", f"{declared} bytes exceed {max_bytes} bytes")
                chunks: list[bytes] = []
                total = 0
                for chunk in response.iter_content(65536):
                    total += len(chunk)
                    if total > max_bytes:
                        raise ImageValidationError(url, "max-size", f"more than {max_bytes} bytes")
                    chunks.append(chunk)
                return b"".join(chunks)
        raise InvalidRequestError(f"more than {MAX_REDIRECTS} redirects", error_code="ModelArts.4603", image=url)
    finally:
        if session is None:
            http.close()
