"""The shared pacer on a real Redis server (Debian's redis-server on 127.0.0.1): every worker of a deployment
paces the account's calls as one (issue 22, item 2)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_vlocr.core.pacestore import LocalPaceStore
from airflow_provider_vlocr.core.ratelimit import HEADROOM, AdaptivePacer
from airflow_provider_vlocr.testing.emulator_handle import EmulatorHandle
from tests.samples import front_reading, make_image

redis = pytest.importorskip("redis", reason="redis-py is not installed (extra 'redis')")
from airflow_provider_vlocr.core.redis_pacing import RedisPaceStore, account_key  # noqa: E402
from airflow_provider_vlocr.testing.redis_server import redis_server  # noqa: E402


@pytest.fixture(scope="module")
def redis_server_url() -> Iterator[str]:
    try:
        with redis_server() as url:
            yield url
    except FileNotFoundError as exc:
        pytest.skip(str(exc))


@pytest.fixture
def redis_url(redis_server_url: str) -> str:
    """The module's server, emptied: the emulator's account is the same in every test, so a pace learnt in one test
    would otherwise start the next."""
    client = redis.Redis.from_url(redis_server_url)
    client.flushdb()
    client.close()
    return redis_server_url


def store_on(url: str, key: str, rate: float = 4.0) -> RedisPaceStore:
    return RedisPaceStore.from_url(url, key, rate=rate)


def test_the_redis_store_does_what_the_local_store_does(redis_url: str) -> None:
    """The same operations give the same rate, ceiling and window state in both stores."""
    local, shared = LocalPaceStore(4.0), store_on(redis_url, account_key("parity"))
    for store in (local, shared):
        store.add(6.0)
        assert store.lower(5.0, once_per=1.0)[0] is True
        assert store.lower(2.0, once_per=1.0)[0] is False  # one congestion event cuts once
        store.scale(0.5)
        store.found(2.4)
        store.cap(3.0)
        store.add(100.0)
        store.spend(1.0)
    assert local.state()[:3] == pytest.approx(shared.state()[:3])
    assert (local.state().cuts, local.state().found) == (shared.state().cuts, shared.state().found) == (1, 2.4)
    assert shared.state().ceiling == 3.0 and shared.state().spent and shared.state().rate == 3.0
    assert shared.reopen().spent is False
    assert shared.add(1.0, limit=2.0).rate == 3.0  # a limit never lowers the rate


def test_pacers_in_two_processes_share_the_slots(redis_url: str) -> None:
    """Two pacers with their own Redis connections (two workers) on one account: together they keep its rate."""
    key = account_key("two-workers")
    pacers = [AdaptivePacer(10.0, store=store_on(redis_url, key)) for _ in range(2)]
    sends: list[float] = []
    lock = threading.Lock()

    def worker(pacer: AdaptivePacer) -> None:
        for _ in range(15):
            pacer.acquire()
            with lock:
                sends.append(time.monotonic())

    threads = [threading.Thread(target=worker, args=(pacer,)) for pacer in pacers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    sends.sort()
    span = sends[-1] - sends[0]
    assert len(sends) == 30
    assert span >= 29 / (10.0 * HEADROOM) - 0.05  # 30 sends at 9.7/s, not 2 x 9.7/s


def test_the_key_names_no_account_in_clear() -> None:
    key = account_key("https://ocr.cn-north-4.myhuaweicloud.com", "cn-north-4", "AKEXAMPLE")
    assert key.startswith("vlocr:pace:") and "AKEXAMPLE" not in key and "cn-north-4" not in key


def two_workers(emulator: EmulatorHandle, redis_url: str | None, images: list[bytes], **hook_args: Any) -> float:
    """Two hooks (two workers' tasks) recognise half of ``images`` each, at once; returns the images per second
    between the emulator's first and last OCR call (hook set-up and the test's threads are not the pacer's doing)."""
    from airflow_provider_vlocr.hooks.vehicle_license_ocr import VehicleLicenseOcrHook

    conn: dict[str, Any] = emulator.connection("aksk")
    if redis_url:
        conn["extra"] = {**conn["extra"], "shared_pacer": redis_url}
    results: list[list[dict[str, Any]]] = []

    def worker(chunk: list[bytes]) -> None:
        hook = VehicleLicenseOcrHook(**hook_args)
        run = hook.recognize_batch(chunk, loader=hook.loader(), options=hook.options(side="front"))
        results.append(list(run))
        hook.close()

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_VLOCR_DEFAULT", json.dumps(conn))
        threads = [threading.Thread(target=worker, args=(images[i::2],)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert [item["status"] for result in results for item in result] == ["ok"] * len(images)
    return (len(images) - 1) / emulator.counters()["ocr_span_seconds"]


def test_two_workers_hold_the_account_quota_together(vlocr_emulator: EmulatorHandle, redis_url: str) -> None:
    """The account's 10 req/s given to each task (``max_requests_per_second=10``): with the shared pacer the two
    workers together stay within it and use nearly all of it; each pacing alone, they would send 2 x 10/s."""
    images = [make_image(7300 + i) for i in range(120)]
    for image in images:
        vlocr_emulator.add_answer(image, front_reading())
    vlocr_emulator.configure(latency_ms=200, qps_limit=10, state_limits=False)
    rate = two_workers(vlocr_emulator, redis_url, images, max_requests_per_second=10)
    counters = vlocr_emulator.counters()
    throttled = counters["responses_by_status"].get("429", 0)
    assert throttled / counters["ocr_requests"] <= 0.05, counters["responses_by_status"]
    assert rate >= 7.5  # of 10/s (9.7/s on a quiet machine; the three CI legs share two cores)
    assert set(counters["billed_by_image"].values()) == {1}


def test_two_workers_find_an_unknown_quota_together(vlocr_emulator: EmulatorHandle, redis_url: str) -> None:
    """Nothing known, 429s that do not state the limit: the pair finds it as one (one slow start, one cut) and
    every image is billed once."""
    images = [make_image(7500 + i) for i in range(160)]
    for image in images:
        vlocr_emulator.add_answer(image, front_reading())
    vlocr_emulator.configure(latency_ms=200, qps_limit=10, state_limits=False)
    rate = two_workers(vlocr_emulator, redis_url, images)
    counters = vlocr_emulator.counters()
    throttled = counters["responses_by_status"].get("429", 0)
    assert throttled / counters["ocr_requests"] <= 0.25, counters["responses_by_status"]  # the slow start's overshoot
    assert rate >= 6.5
    assert set(counters["billed_by_image"].values()) == {1}
