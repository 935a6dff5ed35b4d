"""Alert checks on every connection: a long wait seen from the oldest pending job, a
failure rate from the stored timing counts, and each alert raised once per window across
workers (the backend's locks)."""

from __future__ import annotations

import time

from helpers import envelope

from gello_queue.alerts import AlertChecks
from gello_queue.core.thresholds import RateThresholds, WaitThresholds
from gello_queue.core.timing import Series, TimingCount
from gello_queue.events import FailureRateExceeded, LongWaitDetected
from gello_queue.ports import Capability, QueueDriver, TimingStats


def checks(driver: QueueDriver, **limits: object) -> AlertChecks:
    return AlertChecks(
        driver,
        waits=limits.get("waits"),  # type: ignore[arg-type]
        rates=limits.get("rates"),  # type: ignore[arg-type]
        every_s=60,
    )


async def test_a_long_wait_is_raised_once_per_window_whichever_connection_sees_it(
    driver: QueueDriver, peer: QueueDriver
) -> None:
    waits = WaitThresholds(60, {"fast": 5})
    now = time.time()
    await driver.push(
        [
            envelope("fast", available_at=now - 30, created_at=now - 30),
            envelope("slow", available_at=now - 30, created_at=now - 30),
            envelope("slow", available_at=now - 1, created_at=now - 1),
        ]
    )
    first = await checks(driver, waits=waits).due()
    if Capability.LIST_JOBS not in driver.capabilities:
        # A broker cannot tell when its oldest message became available: no wait to judge.
        assert first == []
        return
    assert [type(a) for a in first] == [LongWaitDetected]
    [alert] = first
    assert isinstance(alert, LongWaitDetected)
    assert (alert.queue, alert.threshold_s) == ("fast", 5)
    assert 29 <= alert.wait_s < 60  # "slow" waits 30 s too, under its 60 s
    assert "queue 'fast' has a job waiting 3" in alert.summary
    # Raised: neither this worker nor another raises it again within the window.
    assert await checks(driver, waits=waits).due() == []
    assert await checks(peer, waits=waits).due() == []


async def test_a_failure_rate_past_its_limit_is_raised_for_that_job_class(
    driver: QueueDriver,
) -> None:
    assert isinstance(driver, TimingStats)
    minute = int(time.time()) // 60 * 60
    await driver.record_timings(
        [
            TimingCount(minute, "q", "Flaky", Series.PROCESSED, 0, 3),
            TimingCount(minute, "q", "Flaky", Series.FAILED, 0, 9),
            TimingCount(minute, "q", "Sturdy", Series.PROCESSED, 0, 19),
            TimingCount(minute, "q", "Sturdy", Series.FAILED, 0, 1),
            # Too few ended to judge, however many failed of them.
            TimingCount(minute, "q", "Rare", Series.FAILED, 0, 2),
            # Ended long ago: outside the window.
            TimingCount(minute - 3600, "q", "Sturdy", Series.FAILED, 0, 500),
        ]
    )
    rates = RateThresholds(0.5, {"Sturdy": 0.5})
    [alert] = await checks(driver, rates=rates).due()
    assert isinstance(alert, FailureRateExceeded)
    assert (alert.job, alert.failed, alert.ended, alert.threshold) == ("Flaky", 9, 12, 0.5)
    assert alert.rate == 0.75
    assert "Flaky failed 9 of 12 times in the last 5 min (75%, alert at 50%)" in alert.summary
    assert await checks(driver, rates=rates).due() == []
    # A class with a stricter limit of its own alerts on its smaller rate.
    [strict] = await checks(driver, rates=RateThresholds(None, {"Sturdy": 0.05})).due()
    assert isinstance(strict, FailureRateExceeded)
    assert (strict.job, strict.failed, strict.ended) == ("Sturdy", 1, 20)
