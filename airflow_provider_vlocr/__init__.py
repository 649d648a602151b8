"""Apache Airflow provider for Chinese motor-vehicle licence OCR (行驶证)."""

from __future__ import annotations

__version__ = "0.1.0"
