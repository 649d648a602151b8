"""The core batch pipeline, rate limiter and retry policy, tested directly (no Airflow, no HTTP)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_vlocr.core.backoff import RetryPolicy
from airflow_provider_vlocr.core.batch.loading import ImageLoader
from airflow_provider_vlocr.core.batch.pipeline import BatchSettings, failure_verdict, recognize_batch
from airflow_provider_vlocr.core.batch.scheduler import FatalBatchError
from airflow_provider_vlocr.core.engines.answers import AnswersEngine
from airflow_provider_vlocr.core.errors import (
    FATAL_ERRORS,
    AuthenticationError,
    ConfigurationError,
    ThrottledError,
    VlocrError,
)
from airflow_provider_vlocr.core.models import OcrResponse, RecognizeOptions
from airflow_provider_vlocr.core.ratelimit import RateLimiter
from tests.samples import FRONT, front_reading, make_image


class CountingEngine(AnswersEngine):
    """The answers engine, counting calls (what the cloud would bill) and failing on request."""

    def __init__(self, fail_with: dict[bytes, VlocrError] | None = None) -> None:
        super().__init__()
        self.calls = 0
        self.fail_with = fail_with or {}
        self._count_lock = threading.Lock()

    def recognize(self, **kwargs: Any) -> OcrResponse:
        with self._count_lock:
            self.calls += 1
        image = kwargs.get("image")
        if image in self.fail_with:
            raise self.fail_with[image]
        return super().recognize(**kwargs)


@pytest.fixture
def images(tmp_path: Path) -> Iterator[tuple[CountingEngine, list[bytes]]]:
    engine = CountingEngine()
    data = [make_image(900 + i) for i in range(6)]
    for image in data:
        engine.add(image, front_reading())
    yield engine, data


def run(engine: CountingEngine, items: Any, **kwargs: Any) -> tuple[list[dict[str, Any]], Any]:
    settings = BatchSettings(options=RecognizeOptions(side="front"), concurrency=3, fatal_errors=FATAL_ERRORS)
    batch = recognize_batch(items, engine, ImageLoader(), settings, **kwargs)
    return sorted(batch, key=lambda record: record["index"]), batch


def test_records_in_input_order_with_bad_items_resumed_and_repeats(images: Any) -> None:
    engine, data = images
    previous = {"bytes-1#1": {"status": "ok", "key": "bytes-1#1", "source": "<bytes #1>", "result": {"number": "X"}}}
    items: list[Any] = [data[0], data[1], None, data[2], data[0], {"nonsense": 1}, data[3]]
    records, batch = run(engine, items, previous=previous)
    assert [r["status"] for r in records] == ["ok", "ok", "error", "ok", "ok", "error", "ok"]
    assert records[1]["resumed"] and records[1]["result"] == {"number": "X"}  # resumed, not sent
    assert records[2]["error"]["code"] == "item-type" and records[5]["error"]["code"] == "item-shape"
    assert records[4]["duplicate_of"] == records[0]["key"] and records[4]["result"] == records[0]["result"]
    assert records[0]["result"]["number"] == FRONT["number"]
    assert engine.calls == 3  # data[0], data[2], data[3]: the resumed item and the repeat are not sent
    summary = batch.summary()
    assert summary["total"] == 7 and summary["ok"] == 5 and summary["error"] == 2 and summary["resumed"] == 1
    assert summary["error_codes"] == {"ImageValidationError:item-type": 1, "ImageValidationError:item-shape": 1}


def test_unknown_image_is_an_error_record_and_the_batch_goes_on(images: Any) -> None:
    engine, data = images
    records, _ = run(engine, [make_image(999), data[0]])
    assert records[0]["error"]["code"] == "AIS.0104" and records[1]["status"] == "ok"


def test_fatal_error_stops_the_batch(images: Any) -> None:
    engine, data = images
    engine.fail_with = {data[0]: AuthenticationError("bad signature", status=401, error_code="APIG.0301")}
    with pytest.raises(FatalBatchError) as info:
        run(engine, data)
    assert isinstance(info.value.cause, AuthenticationError)
    assert engine.calls < len(data) + 1


def test_a_slow_item_holds_up_nothing_else(images: Any) -> None:
    """No head-of-line blocking: records come as they complete; ``index`` restores input order."""
    engine, data = images
    original = engine.recognize

    def slow_first(**kwargs: Any) -> OcrResponse:
        if kwargs.get("image") == data[0]:
            time.sleep(0.5)
        return original(**kwargs)

    engine.recognize = slow_first  # type: ignore[method-assign]
    settings = BatchSettings(options=RecognizeOptions(side="front"), concurrency=2)
    completed = list(recognize_batch(data, engine, ImageLoader(), settings))
    assert completed[-1]["index"] == 0  # the slow one finished last, the other worker did all the rest
    assert sorted(r["index"] for r in completed) == list(range(len(data)))


def test_retryable_failures_are_requeued_without_holding_a_worker(images: Any) -> None:
    engine, data = images
    failures = {data[0]: 2}
    original = engine.recognize

    def throttled_first(**kwargs: Any) -> OcrResponse:
        image = kwargs.get("image")
        if failures.get(image):
            failures[image] -= 1
            raise ThrottledError("slow down", status=429, error_code="APIG.0308", retry_after=0.3)
        return original(**kwargs)

    engine.recognize = throttled_first  # type: ignore[method-assign]
    policy = RetryPolicy(max_attempts=5, initial_delay=0.01, jitter=False)
    settings = BatchSettings(options=RecognizeOptions(side="front"), concurrency=1, retry=policy)
    started = time.monotonic()
    completed = list(recognize_batch(data, engine, ImageLoader(), settings))
    assert [r["status"] for r in completed] == ["ok"] * len(data)
    assert completed[-1]["index"] == 0 and completed[-1]["attempts"] == 3
    assert time.monotonic() - started < 1.5  # one worker: the others ran while item 0 waited 2 x 0.3 s


def test_local_paths_need_allowed_roots(images: Any, tmp_path: Path) -> None:
    engine, data = images
    path = tmp_path / "a.png"
    path.write_bytes(data[0])
    settings = BatchSettings(options=RecognizeOptions(side="front"))
    closed = list(recognize_batch([str(path)], engine, ImageLoader(), settings))
    assert closed[0]["error"]["code"] == "allowed_local_roots" and engine.calls == 0
    opened = list(recognize_batch([str(path)], engine, ImageLoader.build(local_roots=[str(tmp_path)]), settings))
    assert opened[0]["status"] == "ok"


def test_failure_verdict() -> None:
    summary = {"total": 10, "error": 2, "error_codes": {"AIS.0104": 2}}
    assert failure_verdict(summary, "continue", 0.2, 0) is None
    assert "2 of 10" in (failure_verdict(summary, "continue", 0.1, 0) or "")
    assert "retries may help" in (failure_verdict(summary, "fail", 1.0, 1) or "")
    assert failure_verdict({"total": 3, "error": 0, "error_codes": {}}, "fail", 0.0, 0) is None


# -- rate limiter -------------------------------------------------------------------------------------------
class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_rate_limiter_spaces_calls_evenly() -> None:
    fake = FakeClock()
    limiter = RateLimiter(4, clock=fake.clock, sleep=fake.sleep)
    waits = [limiter.acquire() for _ in range(5)]
    assert waits == [0.0, 0.25, 0.25, 0.25, 0.25]
    fake.now += 10  # idle time is not banked as a burst
    assert limiter.acquire() == 0.0 and limiter.acquire() == 0.25


def test_rate_limiter_shared_by_threads_holds_the_rate() -> None:
    limiter = RateLimiter(50)
    started = time.monotonic()
    threads = [threading.Thread(target=lambda: [limiter.acquire() for _ in range(5)]) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a thread hung in the limiter"
    # 20 slots at 50/s: the last one is 19 intervals after the first, whatever the threads did
    assert time.monotonic() - started >= 19 / 50 - 0.01


def test_rate_limiter_refuses_a_non_positive_rate() -> None:
    with pytest.raises(ValueError):
        RateLimiter(0)


# -- retry policy -------------------------------------------------------------------------------------------
def test_retry_policy_retries_only_retryable_errors() -> None:
    calls: list[int] = []
    slept: list[float] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ThrottledError("slow down", status=429, error_code="APIG.0308", retry_after=2.0)
        return "done"

    policy = RetryPolicy(max_attempts=5, initial_delay=0.1, jitter=False)
    assert policy.run(flaky, sleep=slept.append) == ("done", 3)
    assert slept == [2.0, 2.0]  # Retry-After is a floor over 0.1 and 0.2

    def permanent() -> None:
        calls.append(1)
        raise AuthenticationError("nope", status=401)

    calls.clear()
    with pytest.raises(AuthenticationError):
        policy.run(permanent, sleep=slept.append)
    assert len(calls) == 1


def test_retry_policy_from_plain_dict() -> None:
    policy = RetryPolicy.from_dict({"max_attempts": "3", "initial_delay": 0.5, "jitter": "false"})
    assert policy.max_attempts == 3 and policy.initial_delay == 0.5 and policy.jitter is False
    assert RetryPolicy.from_dict(None) == RetryPolicy()
    for bad in ({"max_attempts": 0}, {"attempts": 3}, {"jitter": "maybe"}, ["max_attempts"]):
        with pytest.raises(ConfigurationError, match="retry"):
            RetryPolicy.from_dict(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_header_sizes_agree_with_pillow(fmt: str) -> None:
    import io

    from PIL import Image

    from airflow_provider_vlocr.core.images import header_size

    for seed, (width, height) in enumerate(((640, 400), (101, 7999), (4000, 120), (333, 333))):
        image = make_image(seed, width, height, fmt=fmt)
        with Image.open(io.BytesIO(image)) as opened:
            assert header_size(image, fmt) == opened.size == (width, height)
    progressive = io.BytesIO()
    Image.new("RGB", (300, 200)).save(progressive, "JPEG", progressive=True)
    assert header_size(progressive.getvalue(), "JPEG") == (300, 200)


@pytest.mark.parametrize("interval", [0.0, 3600.0])
def test_the_final_progress_line_is_printed_once(images: Any, interval: float) -> None:
    engine, data = images
    lines: list[tuple[int, int]] = []
    settings = BatchSettings(options=RecognizeOptions(side="front"), concurrency=3, progress_interval=interval)
    batch = recognize_batch(data, engine, ImageLoader(), settings, report=lambda p: lines.append((p.done, p.total)))
    assert len(list(batch)) == len(data)
    assert lines[-1] == (len(data), len(data))
    assert lines.count(lines[-1]) == 1  # the final state once, whether or not a periodic report just showed it


def test_an_error_code_equal_to_the_status_is_said_once() -> None:
    from airflow_provider_vlocr.core.errors import AuthenticationError

    error = AuthenticationError("The request you have made requires authentication.", status=401, error_code="401")
    assert str(error).startswith("HTTP 401: The request") and "401 401" not in str(error)
