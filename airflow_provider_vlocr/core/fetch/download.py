"""Download an image from an http(s) URL taken from untrusted data: the one download policy of the project.

Used by every path that fetches a URL (the operator's download mode, the offline engine, the emulator):

* the host is resolved once and every address vetted by :mod:`.netpolicy` before connecting; the connection
  goes to the vetted address (no second lookup a DNS-rebinding attack could change); TLS still verifies the
  certificate for the URL's host name;
* every redirect hop is vetted again; redirects to another scheme are refused (``http`` → ``https`` excepted);
* one deadline bounds the whole download (connect, headers, every byte, every hop), and a byte cap its size;
* proxies from the environment are not used: a proxy would reach what the policy refuses.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import SplitResult, quote, urljoin, urlsplit, urlunsplit

from ..errors import DownloadError, DownloadTimeoutError, DownloadUnavailableError
from ..images import MAX_BASE64_BYTES
from .netpolicy import HostAllowList, HostRefused, IPAddress, vet_host

MAX_DOWNLOAD_BYTES = MAX_BASE64_BYTES * 3 // 4  # the largest file whose base64 the API accepts
DEFAULT_DEADLINE_SECONDS = 60.0
DEFAULT_TIMEOUT = (10.0, 30.0)
MAX_REDIRECTS = 3
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
# Rules by which the policy refuses a URL (as opposed to a download that failed).
URL_NOT_ALLOWED_RULES = frozenset(
    {"url-scheme", "url-credentials", "url-port", "host-not-allowed", "redirect-scheme", "redirect-limit"}
)
_RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
_USER_AGENT = "airflow-provider-vlocr-download"


@dataclass(frozen=True)
class DownloadPolicy:
    """What a download may do: which private hosts it may reach, how long it may take, how big it may be.

    :param allowed_hosts: private names, addresses and networks allowed (public hosts always are).
    :param deadline_seconds: total time for the whole download, redirects included.
    :param timeout: ``(connect, read)`` seconds per socket operation (the connection's ``timeout``).
    :param max_bytes: largest body accepted.
    """

    allowed_hosts: HostAllowList = field(default_factory=HostAllowList)
    deadline_seconds: float = DEFAULT_DEADLINE_SECONDS
    timeout: tuple[float, float] = DEFAULT_TIMEOUT
    max_bytes: int = MAX_DOWNLOAD_BYTES
    max_redirects: int = MAX_REDIRECTS
    verify_tls: bool = True
    pool: ConnectionPool = field(default_factory=lambda: ConnectionPool(), compare=False, repr=False)

    @classmethod
    def build(
        cls,
        allowed_hosts: Iterable[str] | str | None = None,
        *,
        deadline_seconds: float | None = None,
        timeout: tuple[float, float] | None = None,
        max_bytes: int | None = None,
    ) -> DownloadPolicy:
        return cls(
            allowed_hosts=HostAllowList.parse(allowed_hosts),
            deadline_seconds=deadline_seconds or DEFAULT_DEADLINE_SECONDS,
            timeout=timeout or DEFAULT_TIMEOUT,
            max_bytes=max_bytes or MAX_DOWNLOAD_BYTES,
        )


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP connection to a vetted address, whatever the URL's host resolves to now."""

    def __init__(self, address: IPAddress, port: int, host: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((str(self.address), self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedTLSConnection(_PinnedConnection):
    """HTTPS to a vetted address; the certificate is verified for the URL's host name (SNI too)."""

    def __init__(self, address: IPAddress, port: int, host: str, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(address, port, host, timeout)
        self.context = context

    def connect(self) -> None:
        super().connect()
        self.sock = self.context.wrap_socket(self.sock, server_hostname=self.host)


def _tls_context(verify: bool) -> ssl.SSLContext:
    if not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    try:
        import certifi

        return ssl.create_default_context(cafile=certifi.where())
    except ImportError:
        return ssl.create_default_context()


class Deadline:
    """Seconds left of one download's total budget."""

    def __init__(self, seconds: float, url: str) -> None:
        self.ends = time.monotonic() + seconds
        self.seconds = seconds
        self.url = url

    def left(self, cap: float) -> float:
        remaining = self.ends - time.monotonic()
        if remaining <= 0:
            raise DownloadTimeoutError(self.url, "download-deadline", f"not complete within {self.seconds:g} s")
        return min(cap, remaining)


def requote(url: str) -> str:
    """``url`` as browsers and ``requests`` send it: spaces and other characters a URL cannot hold (Chinese object
    keys) percent-encoded as UTF-8 in the path, query and fragment; existing ``%XX`` escapes and the host kept."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=quote(parts.path, safe=_SAFE), query=quote(parts.query, safe=_SAFE),
                                     fragment=quote(parts.fragment, safe=_SAFE)))  # fmt: skip


_SAFE = "!#$%&'()*+,/:;=?@[]~"


def download_image(url: str, policy: DownloadPolicy | None = None, *, name: str | None = None) -> bytes:
    """The body of ``url`` under ``policy``; raises :class:`DownloadError` naming ``name`` (default: the URL)."""
    policy = policy or DownloadPolicy()
    label = name or url
    deadline = Deadline(policy.deadline_seconds, label)
    current = requote(url)
    previous: str | None = None
    for _hop in range(policy.max_redirects + 1):
        parts = _checked_parts(current, label, previous=previous)
        location = _fetch_once(parts, policy, deadline, label)
        if isinstance(location, bytes):
            return location
        previous = parts.scheme.lower()
        current = urljoin(current, location)
    raise DownloadError(label, "redirect-limit", f"more than {policy.max_redirects} redirects")


def _checked_parts(url: str, label: str, *, previous: str | None) -> SplitResult:
    """The URL's parts if its scheme, user information and port are acceptable (``previous``: the scheme of
    the hop that redirected here)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        rule = "url-scheme" if previous is None else "redirect-scheme"
        raise DownloadError(label, rule, f"only http(s) URLs are downloaded, got scheme {scheme or 'none'!r}")
    if previous is not None and previous == "https" and scheme != "https":
        raise DownloadError(label, "redirect-scheme", "a redirect from https to http is refused")
    if parts.username is not None or parts.password is not None:
        raise DownloadError(label, "url-credentials", "URLs with user information are refused")
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise DownloadError(label, "url-port", "the URL's port is invalid") from None
    return parts


def _fetch_once(
    parts: SplitResult, policy: DownloadPolicy, deadline: Deadline, label: str, *, fresh: bool = False
) -> bytes | str:
    """One hop: the body, or the ``Location`` of a redirect. A kept-alive connection to the same vetted address
    is reused; one the server closed meanwhile is replaced once by a fresh connection."""
    host = parts.hostname or ""
    secure = parts.scheme.lower() == "https"
    port = parts.port or (443 if secure else 80)
    try:
        addresses = vet_host(host, port, policy.allowed_hosts)
    except HostRefused as refused:
        raise DownloadError(label, "host-not-allowed", refused.reason) from None
    connect_timeout, read_timeout = policy.timeout
    key = (secure, str(addresses[0]), port, host)
    connection = None if fresh else policy.pool.take(key)
    reused = connection is not None
    if connection is None:
        if secure:
            context = _tls_context(policy.verify_tls)
            connection = _PinnedTLSConnection(addresses[0], port, host, deadline.left(connect_timeout), context)
        else:
            connection = _PinnedConnection(addresses[0], port, host, deadline.left(connect_timeout))
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    keep: _PinnedConnection | None = None
    try:
        if not reused:
            connection.connect()
        sock = connection.sock  # kept: http.client drops its reference once the response owns the socket
        assert sock is not None
        sock.settimeout(deadline.left(read_timeout))
        try:
            response = _send(connection, target, parts.netloc.rsplit("@", 1)[-1])
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            if not reused:
                raise
            connection.close()  # the server closed the idle connection: try once on a new one
            return _fetch_once(parts, policy, deadline, label, fresh=True)
        if response.status in (301, 302, 303, 307, 308):
            location = response.getheader("Location")
            if not location:
                raise DownloadError(label, "http-status", f"HTTP {response.status} redirect without a Location")
            return location
        if response.status != 200:
            error_class = DownloadUnavailableError if response.status in _RETRYABLE_STATUSES else DownloadError
            raise error_class(label, "http-status", f"the server answered HTTP {response.status}")
        declared = response.getheader("Content-Length")
        if declared and declared.isdigit() and int(declared) > policy.max_bytes:
            raise DownloadError(label, "max-size", f"{declared} bytes exceed the cap of {policy.max_bytes} bytes")
        body = _read_body(sock, response, policy, deadline, label)
        response.close()  # the body is read: the connection is ready for the next request
        if not response.will_close:
            keep = connection
        return body
    except TimeoutError:
        if deadline.ends <= time.monotonic():
            raise DownloadTimeoutError(
                label, "download-deadline", f"not complete within {policy.deadline_seconds:g} s"
            ) from None
        raise DownloadTimeoutError(label, "download-timeout", "the server stopped answering") from None
    except ssl.SSLError as exc:
        raise DownloadError(label, "tls", f"TLS failed: {exc.__class__.__name__}") from None
    except (OSError, http.client.HTTPException) as exc:
        raise DownloadUnavailableError(label, "connect", f"download failed: {exc.__class__.__name__}") from None
    finally:
        if keep is not None:
            policy.pool.give(key, keep)
        else:
            connection.close()


def _send(connection: http.client.HTTPConnection, target: str, host_header: str) -> http.client.HTTPResponse:
    connection.putrequest("GET", target, skip_host=True, skip_accept_encoding=True)
    for header, value in (
        ("Host", host_header),
        ("User-Agent", _USER_AGENT),
        ("Accept", "image/*"),
        ("Accept-Encoding", "identity"),
    ):
        connection.putheader(header, value)
    connection.endheaders()
    return connection.getresponse()


class ConnectionPool:
    """Idle kept-alive connections by vetted ``(tls, address, port, host)``: one batch's downloads share them
    instead of opening a connection per image. Thread-safe; at most ``per_key`` idle connections a key."""

    def __init__(self, per_key: int = 8) -> None:
        self.per_key = per_key
        self._idle: dict[tuple[bool, str, int, str], list[_PinnedConnection]] = {}
        self._lock = threading.Lock()

    def take(self, key: tuple[bool, str, int, str]) -> _PinnedConnection | None:
        with self._lock:
            idle = self._idle.get(key)
            return idle.pop() if idle else None

    def give(self, key: tuple[bool, str, int, str], connection: _PinnedConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < self.per_key:
                idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        with self._lock:
            connections = [c for idle in self._idle.values() for c in idle]
            self._idle.clear()
        for connection in connections:
            connection.close()


def _read_body(
    sock: socket.socket,
    response: http.client.HTTPResponse,
    policy: DownloadPolicy,
    deadline: Deadline,
    label: str,
) -> bytes:
    chunks: list[bytes] = []
    total = 0
    _, read_timeout = policy.timeout
    while True:
        sock.settimeout(deadline.left(read_timeout))
        chunk = response.read1(65536)
        if not chunk:
            break
        total += len(chunk)
        if total > policy.max_bytes:
            raise DownloadError(label, "max-size", f"more than the cap of {policy.max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
