"""The Airflow release under test (the suite runs on the oldest supported 3.0.x and the newest 3.3.x)."""

from __future__ import annotations


def airflow_version() -> tuple[int, int]:
    from airflow import __version__

    major, minor = __version__.split(".")[:2]
    return int(major), int(minor)
