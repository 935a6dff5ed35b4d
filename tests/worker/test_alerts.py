"""Alerts from a running worker: settings turn them on, a local HTTP server stands in for
the webhook endpoint, and the log line and the POST say the same."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import structlog
import yaml
from helpers import eventually
from pydantic import BaseModel, ValidationError

from gello_queue import Job, Queue, Settings, Worker
from gello_queue.alerts import WebhookAlerts
from gello_queue.core.errors import ConfigurationError
from gello_queue.core.thresholds import RateThresholds
from gello_queue.events import Events, FailureRateExceeded, LongWaitDetected
from gello_queue.metrics import JobMetrics


class Nothing(BaseModel):
    pass


class AlwaysFails(Job[Nothing]):
    queue = "default"
    tries = 1

    async def handle(self, payload: Nothing) -> None:
        raise ValueError("the endpoint is down")


class NeverRun(Job[Nothing]):
    queue = "stuck"  # no worker listens to it

    async def handle(self, payload: Nothing) -> None:
        return None


class Hook:
    """A webhook endpoint on loopback that keeps what it was sent."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(
                    {"path": self.path, "type": self.headers["Content-Type"], **json.loads(body)}
                )
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/T0KEN-s3cret"

    def events(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.received if r["event"] == kind]


@pytest.fixture
def hook() -> Iterator[Hook]:
    endpoint = Hook()
    thread = threading.Thread(target=endpoint.server.serve_forever, daemon=True)
    thread.start()
    yield endpoint
    endpoint.server.shutdown()
    endpoint.server.server_close()


@pytest.mark.timeout(90)
async def test_a_worker_posts_long_waits_and_failure_rates_to_the_webhook_and_logs_them(
    tmp_path: Path, hook: Hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("gello_queue.alerts.CHECK_EVERY_S", 0.2)
    settings = Settings(
        queue_alert_wait="60,stuck=0.5",
        queue_alert_failure_rate="0.5",
        queue_alert_webhook=hook.url,  # type: ignore[arg-type]
    )
    queue = Queue(f"sqlite:///{tmp_path / 'alerts.db'}", settings=settings)
    await NeverRun.dispatch(connection=queue)
    await queue.bulk([AlwaysFails.make() for _ in range(12)])
    worker = Worker(["default"], connection=queue, sleep_s=0.02, lease_s=1.5)
    with structlog.testing.capture_logs() as logs:
        running = asyncio.create_task(worker.start())
        try:
            await eventually(
                lambda: asyncio.sleep(0, hook.received),
                lambda got: (
                    {r["event"] for r in got} >= {"LongWaitDetected", "FailureRateExceeded"}
                ),
                timeout_s=30,
            )
        finally:
            worker.stop()
            await asyncio.wait_for(running, 20)
        await queue.close()

    [wait] = hook.events("LongWaitDetected")
    assert (wait["queue"], wait["threshold_s"], wait["type"]) == ("stuck", 0.5, "application/json")
    assert wait["wait_s"] >= 0.5
    assert wait["text"].startswith("gello: queue 'stuck' has a job waiting")
    [rate] = hook.events("FailureRateExceeded")
    assert (rate["job"], rate["rate"], rate["threshold"]) == ("AlwaysFails", 1.0, 0.5)
    assert rate["failed"] == rate["ended"] >= 10
    assert rate["path"] == "/hooks/T0KEN-s3cret"
    # The same two alerts, as warning lines; the webhook's URL appears in none of them.
    alerts = [e for e in logs if e["event"].startswith("alert_")]
    assert {(e["event"], e["log_level"]) for e in alerts} == {
        ("alert_long_wait", "warning"),
        ("alert_failure_rate", "warning"),
    }
    assert "T0KEN-s3cret" not in repr(logs)
    assert "T0KEN-s3cret" not in repr(settings)


async def test_an_unreachable_webhook_is_one_warning_without_its_url() -> None:
    webhook = WebhookAlerts("http://127.0.0.1:9/hooks/T0KEN-s3cret", timeout_s=2)
    events = Events([webhook])
    with structlog.testing.capture_logs() as logs:
        events.emit(LongWaitDetected("stuck", 90.0, 60.0))
        events.emit("not an alert")  # other events are not posted
        await webhook.drain()
    [failed] = [e for e in logs if e["event"] == "alert_webhook_failed"]
    assert failed["log_level"] == "warning"
    assert "QUEUE_ALERT_WEBHOOK" in failed["hint"]
    assert "T0KEN" not in repr(logs)
    assert "T0KEN" not in repr(webhook)


def test_alert_limits_are_checked_when_the_settings_load() -> None:
    assert RateThresholds.parse("0.5,SendInvoice=0.1").alert_at("SendInvoice") == 0.1
    assert RateThresholds.parse("SendInvoice=0.1").alert_at("Other") is None
    with pytest.raises(ConfigurationError, match=r"QUEUE_ALERT_FAILURE_RATE part '1\.5'"):
        RateThresholds.parse("1.5")
    with pytest.raises(ValidationError, match="QUEUE_ALERT_FAILURE_RATE part 'x=often'"):
        Settings(queue_alert_failure_rate="0.5,x=often")
    with pytest.raises(ValidationError, match="QUEUE_ALERT_WAIT part 'emails=0'"):
        Settings(queue_alert_wait="emails=0")


def test_failure_rate_alert_reads_as_one_line() -> None:
    alert = FailureRateExceeded("SendInvoice", 0.25, 0.2, 5, 20, 300)
    assert alert.summary == (
        "gello: SendInvoice failed 5 of 20 times in the last 5 min (25%, alert at 20%)"
    )


def test_the_prometheus_rules_in_the_deploy_guide_name_metrics_gello_serves() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "deploy.md").read_text()
    block = re.search(r"```yaml\n(groups:.*?)```", page, re.S)
    assert block is not None, "docs/deploy.md has no Prometheus rules"
    rules = yaml.safe_load(block[1])["groups"][0]["rules"]
    named = set(re.findall(r"gello_[a-z_]+", " ".join(r["expr"] for r in rules)))
    served = {m.name for m in JobMetrics().registry.collect()}
    unknown = {n for n in named if n.removesuffix("_total") not in served}
    assert not unknown, f"the rules name metrics gello does not serve: {unknown}"
    assert {r["alert"] for r in rules} >= {"GelloLongWait", "GelloFailureRate"}
