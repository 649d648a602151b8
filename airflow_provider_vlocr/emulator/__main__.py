"""``vlocr-emulator`` / ``python -m airflow_provider_vlocr.emulator``: run the emulator in the foreground."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from types import FrameType

from .config import EmulatorConfig
from .server import EmulatorServer


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="vlocr-emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (0 picks a free one)")
    parser.add_argument("--config", help="JSON configuration file (see the README)")
    parser.add_argument("--log-level", default="WARNING")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)
    config = EmulatorConfig.from_file(args.config) if args.config else EmulatorConfig()
    server = EmulatorServer(config, host=args.host, port=args.port)
    # First line on stdout: the base URL, so scripts can read it.
    print(server.base_url, flush=True)
    if not args.config:
        print("demo credentials (built-in configuration):", flush=True)
    print(f"engine: {server.app.engine.name}; project {config.project.name} ({config.project.id})", flush=True)
    for mode in ("password", "aksk", "temporary-aksk", "token"):
        try:
            conn = server.connection(mode)
        except (StopIteration, IndexError):
            continue
        note = f" (expires in {config.token_lifetime_seconds:.0f} s)" if mode == "token" else ""
        print(f"AIRFLOW_CONN_VLOCR_DEFAULT='{json.dumps(conn)}'  # {mode}{note}", flush=True)

    def _stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop_listening()
    return 0


if __name__ == "__main__":
    sys.exit(main())
