"""A faithful local emulator of Huawei Cloud IAM + Vehicle License OCR, for tests, demos and benchmarks."""

from __future__ import annotations

from .config import EmulatorConfig
from .server import EmulatorServer, connection_for

__all__ = ["EmulatorConfig", "EmulatorServer", "connection_for"]
