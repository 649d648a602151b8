"""The emulator's HTTP/1.1 server (standard library, one thread per connection, keep-alive)."""

from __future__ import annotations

import json
import logging
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from .app import EmulatorApp, Reply
from .config import EmulatorConfig
from .gateway import RawRequest

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 64 * 1024 * 1024


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._send(Reply(413, {"error_code": "APIG.0201", "error_msg": "Request entity too large"}))
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = RawRequest(
            method=self.command,
            path=parts.path,
            query=parts.query,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        reply = self.server.app.handle(request)
        if reply.reset:
            self._reset()
            return
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        payload = b"" if reply.body is None else json.dumps(reply.body, ensure_ascii=False).encode("utf-8")
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def _reset(self) -> None:
        """Drop the connection with a TCP RST, like a broken load balancer."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: EmulatorApp) -> None:
        self.app = app
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s ended with an error", client_address, exc_info=True)


class EmulatorServer:
    """Start the emulator in a background thread; ``base_url`` is where it listens."""

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        app: EmulatorApp | None = None,
    ) -> None:
        self.config = config or EmulatorConfig()
        self.app = app or EmulatorApp(self.config)
        self._server = _Server((host, port), self.app)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        host = str(host)
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}"

    def start(self) -> EmulatorServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="vlocr-emulator", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop_listening(self) -> None:
        """Close the listening socket (after ``serve_forever`` returned in this thread)."""
        self._server.server_close()

    def stop(self) -> None:
        """Stop a server started with :meth:`start`."""
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def connection(self, mode: str = "password") -> dict[str, Any]:
        """An Airflow connection (JSON form) for this emulator and auth mode; ``token`` issues a project-scoped token
        valid for the configured token lifetime."""
        if mode == "token":
            extra = {"region": self.config.region, "ocr_endpoint": self.base_url, "iam_endpoint": self.base_url,
                     "project_id": self.config.project.id, "token": self.app.project_token()}  # fmt: skip
            return {"conn_type": "vlocr", "extra": extra}
        return connection_for(self.base_url, self.config, mode)


def connection_for(base_url: str, config: EmulatorConfig, mode: str = "password") -> dict[str, Any]:
    """A connection dict (``AIRFLOW_CONN_*`` JSON form) for an emulator at ``base_url``."""
    extra: dict[str, Any] = {"region": config.region, "ocr_endpoint": base_url, "iam_endpoint": base_url}
    conn: dict[str, Any] = {"conn_type": "vlocr"}
    if mode == "password":
        user = config.users[0]
        conn.update(login=user.name, password=user.password)
        extra["domain_name"] = user.domain
    elif mode in ("aksk", "temporary-aksk"):
        want_temp = mode == "temporary-aksk"
        key = next(k for k in config.access_keys if bool(k.security_token) == want_temp)
        extra.update(access_key_id=key.ak, secret_access_key=key.sk)
        if key.security_token:
            extra["security_token"] = key.security_token
    else:
        raise ValueError(f"no ready connection for auth mode {mode!r}; use password, aksk or temporary-aksk")
    conn["extra"] = extra
    return conn
