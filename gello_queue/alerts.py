"""Long-wait and failure-rate alerts, as Horizon's notifications.

A worker whose settings ask for alerts (``QUEUE_ALERT_WAIT``, ``QUEUE_ALERT_FAILURE_RATE``)
checks every ``CHECK_EVERY_S``: the wait of each queue's oldest pending job, and the
failure rate of each job class over the last ``FAILURE_WINDOW_S``, read from the stored
timing counts that every worker writes. A limit passed raises ``LongWaitDetected`` or
``FailureRateExceeded`` on the worker's events, which the default log listener writes as
one warning line and ``WebhookAlerts`` POSTs as JSON.

Many workers share one backend, so both the check and each alert go through the
backend's locks: one worker checks per interval, and one alert per queue or job class is
raised per ``QUEUE_ALERT_EVERY``, whichever worker sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import random
import time
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gello_queue.core.thresholds import RateThresholds, WaitThresholds
from gello_queue.core.timing import Series
from gello_queue.events import Alert, FailureRateExceeded, LongWaitDetected
from gello_queue.observability import get_logger
from gello_queue.ports import QueueDriver, TimingStats
from gello_queue.worker.extension import while_running

if TYPE_CHECKING:
    from gello_queue.worker.runtime import Worker

CHECK_EVERY_S = 15.0
"""How often one of the workers checks the limits."""

FAILURE_WINDOW_S = 300.0
"""The failure rate is over the attempts that ended in the last five minutes."""

MIN_ENDED = 10
"""A job class is judged on at least this many ended jobs: one failure in one run is not
a rate."""

WEBHOOK_TIMEOUT_S = 10.0


class AlertChecks:
    """Checks the limits against ``driver`` and says which alerts are due now."""

    def __init__(
        self,
        driver: QueueDriver,
        *,
        waits: WaitThresholds | None,
        rates: RateThresholds | None,
        every_s: float,
    ) -> None:
        self.driver = driver
        self.waits = waits
        self.rates = rates
        self.every_s = every_s
        """An alert raised is not raised again for this long (``QUEUE_ALERT_EVERY``)."""

    async def due(self) -> list[Alert]:
        """The limits passed now, less those alerted within ``every_s``."""
        now = await self.driver.now()
        found: list[Alert] = []
        if self.waits is not None:
            found += await self._long_waits(self.waits, now)
        if self.rates is not None and isinstance(self.driver, TimingStats):
            found += await self._failure_rates(self.driver, self.rates, now)
        return [a for a in found if await self._first_in_window(a)]

    async def _long_waits(self, waits: WaitThresholds, now: float) -> list[Alert]:
        found: list[Alert] = []
        for queue, counts in sorted((await self.driver.counts()).items()):
            if counts.pending and counts.oldest_pending_at is not None:
                wait_s = now - counts.oldest_pending_at
                if wait_s >= waits.warn_at(queue):
                    found.append(LongWaitDetected(queue, wait_s, waits.warn_at(queue)))
        return found

    async def _failure_rates(
        self, store: TimingStats, rates: RateThresholds, now: float
    ) -> list[Alert]:
        ended: dict[str, list[int]] = {}  # job -> [processed, failed]
        for count in await store.timings(now - FAILURE_WINDOW_S):
            if count.series in (Series.PROCESSED, Series.FAILED):
                tally = ended.setdefault(count.job, [0, 0])
                tally[count.series is Series.FAILED] += count.count
        found: list[Alert] = []
        for job, (processed, failed) in sorted(ended.items()):
            limit = rates.alert_at(job)
            total = processed + failed
            if limit is not None and total >= MIN_ENDED and failed / total >= limit:
                found.append(
                    FailureRateExceeded(job, failed / total, limit, failed, total, FAILURE_WINDOW_S)
                )
        return found

    async def _first_in_window(self, alert: Alert) -> bool:
        """Whether no worker raised ``alert`` within ``every_s``: the first to count it in
        a fixed window of that length raises it."""
        subject = alert.queue if isinstance(alert, LongWaitDetected) else alert.job
        key = f"alert:{type(alert).__name__}:{subject}"
        return await self.driver.counter_incr(key, 1, self.every_s) == 1


class WebhookAlerts:
    """A listener POSTing each alert as JSON to ``url``: ``text`` (one line, which Slack
    and Teams incoming webhooks show as is), ``event`` (the alert's type) and its fields.

    The POST runs in a thread, so the worker never waits on the endpoint; a failure is
    logged without the URL (such URLs are secrets)."""

    def __init__(self, url: str, timeout_s: float = WEBHOOK_TIMEOUT_S) -> None:
        self._url = url
        self._timeout_s = timeout_s
        self._sending: set[asyncio.Future[None]] = set()

    def __repr__(self) -> str:
        return "WebhookAlerts(url=***)"

    def __call__(self, event: Any) -> None:
        if not isinstance(event, LongWaitDetected | FailureRateExceeded):
            return
        body = json.dumps(
            {"text": event.summary, "event": type(event).__name__, **dataclasses.asdict(event)}
        ).encode()
        sending = asyncio.get_running_loop().run_in_executor(None, self._post, body)
        self._sending.add(sending)
        sending.add_done_callback(self._sent)

    def _post(self, body: bytes) -> None:
        request = urllib.request.Request(
            self._url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=self._timeout_s) as response:
            response.read()

    def _sent(self, sending: asyncio.Future[None]) -> None:
        self._sending.discard(sending)
        if not sending.cancelled() and (exc := sending.exception()) is not None:
            get_logger().warning(
                "alert_webhook_failed",
                error=type(exc).__name__,
                hint="check QUEUE_ALERT_WEBHOOK and that its endpoint answers",
            )

    async def drain(self) -> None:
        """Wait for the POSTs under way (tests, and a worker stopping)."""
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)


class Alerts:
    """Runs ``AlertChecks`` every ``check_every_s`` while ``worker`` runs."""

    def __init__(self, worker: Worker, checks_of: Callable[[QueueDriver], AlertChecks]) -> None:
        self.worker = worker
        self.checks_of = checks_of
        self.check_every_s = CHECK_EVERY_S
        self.raised = 0

    def attach(self) -> Alerts:
        while_running(self.worker, self._run)
        return self

    async def _run(self) -> None:
        checks = self.checks_of(await self.worker.connection.driver())
        # Spread the checks of workers started together.
        await asyncio.sleep(random.random() * min(self.check_every_s, 2.0))
        while True:
            started = time.monotonic()
            with contextlib.suppress(Exception):  # an outage is the worker's to report
                # One worker checks per interval: the others find the lock taken.
                if await checks.driver.lock_acquire(
                    "alert:check", self.worker.id, self.check_every_s * 0.9
                ):
                    for alert in await checks.due():
                        self.raised += 1
                        self.worker.events.emit(alert)
            await asyncio.sleep(max(self.check_every_s - (time.monotonic() - started), 0))


def for_worker(worker: Worker) -> Alerts | None:
    """Alerts for ``worker`` from its connection's settings (None when none is asked)."""
    settings = worker.connection.settings
    if settings.queue_alert_wait is None and settings.queue_alert_failure_rate is None:
        return None
    waits = (
        None
        if settings.queue_alert_wait is None
        else WaitThresholds.parse(settings.queue_alert_wait, "QUEUE_ALERT_WAIT")
    )
    rates = (
        None
        if settings.queue_alert_failure_rate is None
        else RateThresholds.parse(settings.queue_alert_failure_rate)
    )
    if settings.queue_alert_webhook is not None:
        worker.events.subscribe(WebhookAlerts(settings.queue_alert_webhook.get_secret_value()))

    def checks_of(driver: QueueDriver) -> AlertChecks:
        return AlertChecks(driver, waits=waits, rates=rates, every_s=settings.queue_alert_every)

    return Alerts(worker, checks_of).attach()
