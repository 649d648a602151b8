"""The account's quota as Huawei states it: APIG.0308 says ``limit:XX,time:1 minute``; the pacer paces under it and
waits out a spent window with one probe a second instead of sending into it (issue 22, first part)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_vlocr.core.batch.loading import ImageLoader
from airflow_provider_vlocr.core.batch.pipeline import BatchSettings, recognize_batch
from airflow_provider_vlocr.core.connection import ConnectionSettings
from airflow_provider_vlocr.core.engines.huaweicloud.client import VehicleLicenseOcrClient
from airflow_provider_vlocr.core.errors import ThrottledError, classify_api_error
from airflow_provider_vlocr.core.models import RecognizeOptions
from airflow_provider_vlocr.core.ratelimit import HEADROOM, PROBE_SECONDS, AdaptivePacer
from airflow_provider_vlocr.testing.emulator_handle import EmulatorHandle
from tests.samples import front_reading, make_image


@pytest.mark.parametrize(
    ("message", "quota"),
    [
        ("The throttling threshold has been reached: policy user over ratelimit,limit:300,time:1 minute", (300, 60.0)),
        ("policy user over ratelimit,limit:10,time:1 second", (10, 1.0)),
        ("policy user over ratelimit,limit:20,time:5 seconds", (20, 5.0)),
        ("The throttling threshold has been reached: policy ip over ratelimit", None),
    ],
)
def test_the_stated_quota_is_read_from_the_message(message: str, quota: tuple[int, float] | None) -> None:
    error = classify_api_error(429, "APIG.0308", message)
    assert isinstance(error, ThrottledError) and error.quota == quota


def test_a_stated_quota_caps_the_pace_and_a_spent_window_is_probed() -> None:
    now = [100.0]
    pacer = AdaptivePacer(None, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    pacer.rate = 40.0  # slow start got this far before the first 429
    pacer.observe(0.05, throttled=True)
    pacer.learn_quota(300, 60.0)
    assert pacer.quota == (300, 60.0) and pacer.rate == pytest.approx(5.0 * HEADROOM)
    assert pacer.interval == PROBE_SECONDS  # the window is spent: one probe a second
    pacer.acquire()
    assert now[0] >= 100.0 + PROBE_SECONDS  # the first probe waits a second
    pacer.observe(0.05, throttled=False)  # the window reopened
    assert pacer.interval == pytest.approx(1 / pacer.rate)
    for _ in range(50):
        now[0] += 1.0
        pacer.observe(0.05, throttled=False)
    assert pacer.rate <= 5.0 * HEADROOM  # never above the stated quota again


def test_a_per_window_quota_unknown_to_the_client_is_met_with_few_429s(vlocr_emulator: EmulatorHandle) -> None:
    """The emulator's fixed window (20 calls per 4 s, stated as Huawei states it), 60 images, no rate given: all
    are recognised, with few calls answered 429 (the issue measured 49 % before the pacer read the message)."""
    images = [make_image(5100 + i) for i in range(60)]
    for image in images:
        vlocr_emulator.add_answer(image, front_reading())
    vlocr_emulator.configure(latency_ms=50, quota_per_window=20, quota_window_seconds=4)
    conn: dict[str, Any] = vlocr_emulator.connection("aksk")
    pacer = AdaptivePacer(None)
    settings = ConnectionSettings.from_parts(login=None, password=None, extras=conn["extra"])
    client = VehicleLicenseOcrClient(settings, rate_limiter=pacer)
    batch = BatchSettings(options=RecognizeOptions(side="front"), concurrency=pacer.concurrency, progress_interval=60)
    items = list(recognize_batch(images, client, ImageLoader(), batch))
    counters = vlocr_emulator.counters()
    throttled = counters["responses_by_status"].get("429", 0)
    assert [item["status"] for item in items] == ["ok"] * 60
    assert pacer.quota == (20, 4.0)
    assert pacer.rate == pytest.approx(20 / 4.0 * HEADROOM)  # the stated quota's 429s are not taken for a cut
    assert throttled / counters["ocr_requests"] <= 0.15, counters["responses_by_status"]
    assert set(counters["billed_by_image"].values()) == {1}
