"""The provider's retry policy: a spent quota waits for its window (a reschedule on Airflow 3.4+, a retry on 3.3),
credentials and configuration fail at once, outages retry; before 3.3 tasks keep Airflow's normal retries."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_vlocr.core.errors import (
    AuthenticationError,
    ConfigurationError,
    NotSubscribedError,
    ServiceUnavailableError,
    ThrottledError,
    TransportError,
)
from airflow_provider_vlocr.policies.failures import OcrQuotaExhausted, OcrServiceUnavailable, batch_failure
from airflow_provider_vlocr.policies.retry import ocr_retry_policy, reschedule_supported, retry_policies_supported
from airflow_provider_vlocr.testing.emulator_handle import EmulatorHandle
from tests.dag_runs import airflow_version
from tests.samples import front_reading, make_image

RunDag = Callable[..., tuple[str, dict[Any, Any]]]
needs_policies = pytest.mark.skipif(airflow_version() < (3, 3), reason="retry policies arrived in Airflow 3.3")


def test_version_gates_follow_airflow() -> None:
    assert retry_policies_supported() == (airflow_version() >= (3, 3))
    assert reschedule_supported() == (airflow_version() >= (3, 4))
    if airflow_version() < (3, 3):
        assert ocr_retry_policy() is None


def test_a_failed_batch_raises_by_its_most_telling_cause() -> None:
    from airflow.providers.common.compat.sdk import AirflowFailException

    assert isinstance(batch_failure("v", throttled=2, transient=5), OcrQuotaExhausted)
    assert isinstance(batch_failure("v", throttled=0, transient=1), OcrServiceUnavailable)
    failed = batch_failure("3 of 3 image(s) failed", throttled=0, transient=0)
    assert type(failed) is AirflowFailException and "3 of 3" in str(failed)


@needs_policies
@pytest.mark.parametrize(
    ("error", "action"),
    [
        (OcrQuotaExhausted("2 of 4 image(s) failed"), "quota"),
        (ThrottledError("over ratelimit", status=429, error_code="APIG.0308"), "quota"),
        (AuthenticationError("bad signature", status=401, error_code="APIG.0301"), "fail"),
        (NotSubscribedError("not enabled", status=403, error_code="ModelArts.4204"), "fail"),
        (ConfigurationError("no region"), "fail"),
        (OcrServiceUnavailable("3 of 4 image(s) failed"), "retry"),
        (ServiceUnavailableError("bad gateway", status=502), "retry"),
        (TransportError("connection reset"), "retry"),
        (ValueError("something else"), "default"),
    ],
)
def test_policy_decides_by_cause(error: BaseException, action: str) -> None:
    from airflow.providers.common.compat.sdk import AirflowNotFoundException, RetryAction

    policy = ocr_retry_policy(quota_delay=timedelta(seconds=60), max_reschedules=5)
    assert policy is not None
    decision = policy.evaluate(error, try_number=1, max_tries=3)
    if action == "quota":
        expected = RetryAction("reschedule") if reschedule_supported() else RetryAction.RETRY
        assert decision.action == expected and decision.retry_delay == timedelta(seconds=60)
        if reschedule_supported():
            assert decision.max_reschedules == 5 and decision.reschedule_timeout == timedelta(hours=2)
        assert "quota" in (decision.reason or "")
    elif action == "fail":
        assert decision.action == RetryAction.FAIL
    elif action == "retry":
        assert decision.action == RetryAction.RETRY and decision.retry_delay is None  # the task's own backoff
    else:
        assert decision.action == RetryAction.DEFAULT
    missing_connection = AirflowNotFoundException("The conn_id `vlocr_default` isn't defined")
    assert policy.evaluate(missing_connection, try_number=1, max_tries=3).action == RetryAction.FAIL


def test_operator_takes_the_policy_by_default_where_airflow_has_them() -> None:
    from airflow_provider_vlocr.operators.vehicle_license_ocr import VehicleLicenseOcrOperator

    operator = VehicleLicenseOcrOperator(task_id="t", images=[], retry_policy=None)
    policy = getattr(operator, "retry_policy", None)
    if airflow_version() < (3, 3):
        assert policy is None  # nothing to set: Airflow's normal retries
    else:
        assert type(policy).__name__ == "ExceptionRetryPolicy"
        assert [type(r).__name__ for r in policy.rules] == ["RetryRule"] * 3


def test_spent_quota_runs_again_when_its_window_reopens_without_paying_twice(
    vlocr_connection: dict[str, Any],
    vlocr_emulator: EmulatorHandle,
    run_dag: RunDag,
    tmp_path: Path,
    airflow_db: Path,
) -> None:
    """Every image is throttled on the first run; the quota then reopens. On 3.4+ the task is rescheduled without
    using a retry (try 1 succeeds); before, it uses its one retry (try 2 succeeds). Each image is billed once."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    images = []
    for i in range(4):
        image = make_image(9100 + i)
        vlocr_emulator.add_answer(image, front_reading())
        (tmp_path / f"q-{i}.png").write_bytes(image)
        images.append(str(tmp_path / f"q-{i}.png"))
    vlocr_emulator.configure(faults={"rate_429": 1.0})
    reopened = threading.Event()

    def reopen_when_all_were_throttled() -> None:
        while not reopened.wait(0.02):
            if vlocr_emulator.counters()["errors_by_code"].get("APIG.0308", 0) >= len(images):
                vlocr_emulator.configure(faults={"rate_429": 0.0})
                reopened.set()

    watcher = threading.Thread(target=reopen_when_all_were_throttled, daemon=True)
    watcher.start()
    try:
        output = tmp_path / "out" / "records.jsonl"
        state, _ = run_dag("vlocr_test_quota", {"images": images, "output_path": str(output)})
    finally:
        reopened.set()
        watcher.join(timeout=10)
    assert state == "success"
    with create_session() as session:
        ti = session.query(TaskInstance).filter(TaskInstance.dag_id == "vlocr_test_quota").one()
        try_number = ti.try_number
    assert try_number == (1 if reschedule_supported() else 2)
    counters = vlocr_emulator.counters()
    assert counters["ocr_billed"] == len(images) and set(counters["billed_by_image"].values()) == {1}
