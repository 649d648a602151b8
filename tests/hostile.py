"""Hostile network peers on loopback for the SSRF and download tests, and a record of every connect attempt.

* :class:`SilentListener` listens on 127.0.0.1 and must never see a connection: a URL spelling that reached it
  slipped through the policy.
* :class:`HostileServer` serves on 127.0.0.2 (the only host the tests allow): 404s, HTML, slow and dripping
  bodies, oversized files, redirects to the metadata address, to ``file://``, to the silent listener, in a loop.
* :func:`connect_attempts` lists every ``socket.connect`` this process made (a ``sys.addaudithook`` hook), so a
  test proves no connection was attempted to an address without sending traffic anywhere.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_ATTEMPTS: list[tuple[str, int]] = []
_HOOKED = False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.connect" and len(args) >= 2 and isinstance(args[1], tuple) and len(args[1]) >= 2:
        _ATTEMPTS.append((str(args[1][0]), int(args[1][1])))


@contextmanager
def connect_attempts() -> Iterator[list[tuple[str, int]]]:
    """Collect the ``(address, port)`` of every socket connect made inside the block (all threads)."""
    global _HOOKED
    if not _HOOKED:
        sys.addaudithook(_audit)
        _HOOKED = True
    start = len(_ATTEMPTS)
    seen: list[tuple[str, int]] = []
    try:
        yield seen
    finally:
        seen.extend(_ATTEMPTS[start:])


class SilentListener:
    """A TCP listener on 127.0.0.1 that counts connections; the tests assert it stays at zero."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


class HostileServer:
    """HTTP on 127.0.0.2 with hostile routes; ``files`` maps a path to bytes served with 200."""

    HOST = "127.0.0.2"

    def __init__(self, silent_port: int) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        self.client_ports: list[int] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server.requests.append(self.path)
                server.client_ports.append(self.client_address[1])
                route = self.path.split("?", 1)[0]
                if route in server.files:
                    return self._send(200, server.files[route], "image/png")
                if route == "/html":
                    return self._send(200, b"<!DOCTYPE html><html><body>login</body></html>", "text/html")
                if route == "/slow":
                    time.sleep(3)
                    return self._send(200, b"late", "image/png")
                if route == "/drip":
                    self.send_response(200)
                    self.send_header("Content-Length", "200")
                    self.end_headers()
                    for _ in range(200):
                        try:
                            self.wfile.write(b"x")
                            self.wfile.flush()
                        except OSError:
                            return None
                        time.sleep(0.3)
                    return None
                if route == "/big":
                    self.send_response(200)
                    self.send_header("Content-Length", str(11 * 1024 * 1024))
                    self.end_headers()
                    return None
                if route == "/big-chunked":
                    self.send_response(200)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    chunk = b"\0" * 65536
                    try:
                        for _ in range(200):  # 12.5 MiB, more than the cap
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.write(b"0\r\n\r\n")
                    except OSError:
                        return None
                    return None
                redirects = {
                    "/to-metadata": "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
                    "/to-file": "file:///etc/passwd",
                    "/to-silent": f"http://127.0.0.1:{silent_port}/x.png",
                    "/to-silent-decimal": f"http://2130706433:{silent_port}/x.png",
                    "/loop": "/loop",
                }
                if route in redirects:
                    self.send_response(302)
                    self.send_header("Location", redirects[route])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                return self._send(404, b"not found", "text/plain")

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    return None
                return None

            def log_message(self, format: str, *args: object) -> None:
                return None

        self.httpd = ThreadingHTTPServer((self.HOST, 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://{self.HOST}:{self.port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
