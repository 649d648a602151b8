"""``make scale-demo``'s arithmetic: the pool keeps the fleet inside the quota, and the verdict line's format."""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "scale_demo.py"


@pytest.fixture(scope="module")
def demo() -> Iterator[ModuleType]:
    spec = importlib.util.spec_from_file_location("scale_demo", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while it executes
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


@pytest.mark.parametrize(("limit", "task_qps"), [(10, 2), (10, 3), (20, 4), (7, 2.5), (100, 1), (3, 2)])
def test_pool_slots_times_task_rate_stay_within_the_quota(demo: ModuleType, limit: float, task_qps: float) -> None:
    plan = demo.parse_args(["--qps-limit", str(limit), "--task-qps", str(task_qps), "--pacing", "pool"])
    slots = plan.pool_slots
    if task_qps <= limit * demo.QUOTA_SHARE:
        assert slots * task_qps <= limit * demo.QUOTA_SHARE < (slots + 1) * task_qps  # the most that fits
    else:
        assert slots == 1  # one task at a time is the least a pool can hold


def test_shared_pacing_gives_every_task_the_account_quota(demo: ModuleType) -> None:
    """With the shared pacer the pool only matches the worker slots; each task is told the whole quota, which the
    Redis store holds for all of them together."""
    plan = demo.parse_args(["--qps-limit", "10", "--workers", "2", "--worker-concurrency", "3"])
    assert plan.shared and plan.pool_slots == 6 and plan.rate_per_task == 10.0


def test_the_demo_refuses_less_than_ten_chunks_or_two_workers(demo: ModuleType) -> None:
    for argv in (["--chunks", "9"], ["--workers", "1"], ["--images", "5"]):
        with pytest.raises(SystemExit):
            demo.parse_args(argv)


def test_verdict_line_and_span(demo: ModuleType) -> None:
    instances = [
        {"start_date": "2026-11-25T01:00:00.000000Z", "end_date": "2026-11-25T01:00:20.000000Z"},
        {"start_date": "2026-11-25T01:00:05.000000Z", "end_date": "2026-11-25T01:00:40.000000Z"},
    ]
    assert demo.span_seconds(instances) == 40.0
    line = demo.verdict_line(
        images=240, ok=240, workers=2, throughput=240 / 40, max_qps=8, limit=10.0, twice=0, pacing="shared",
        call_rate=9.3,
    )  # fmt: skip
    pattern = (
        r"scale-demo: images=\d+ ok=\d+ workers=\d+ throughput=[\d.]+ img/s max_qps=\d+ limit=[\d.]+"
        r" quota_used=[\d.]+ billed_twice=\d+ pacing=(shared|pool)"
    )
    assert re.fullmatch(pattern, line)
    assert line == (
        "scale-demo: images=240 ok=240 workers=2 throughput=6.00 img/s max_qps=8 limit=10 quota_used=0.93 "
        "billed_twice=0 pacing=shared"
    )
