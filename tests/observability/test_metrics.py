"""Prometheus metrics: counters match the jobs run, in-process and scraped from workers."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from helpers import eventually, wait_for
from obs_harness import GELLO, clean_env, gello, listening_on, outside_a_container, running
from pydantic import BaseModel

from gello_queue import Job, Queue, Worker
from gello_queue.events import Events, JobsRescued
from gello_queue.metrics import JobMetrics, scrape, total

CLI_DIR = Path(__file__).resolve().parent.parent / "cli"


class N(BaseModel):
    n: int


class MetricsOk(Job[N]):
    queue = "fast"

    async def handle(self, payload: N) -> None:
        if payload.n == 0:
            await MetricsFails.dispatch(n=1)


class MetricsFails(Job[N]):
    tries = 2
    backoff = 0

    async def handle(self, payload: N) -> None:
        raise RuntimeError("nope")


class MetricsReleases(Job[N]):
    async def handle(self, payload: N) -> None:
        if self.attempt == 1 and payload.n == 1 and self.envelope.reason is None:
            self.release(0, "later")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def value(samples: Any, name: str, **labels: str) -> float:
    return float(samples.get((name, tuple(sorted(labels.items()))), 0.0))


async def test_counters_histograms_and_gauges_match_an_in_process_run() -> None:
    queue = Queue(f"memory://metrics-{uuid.uuid4().hex}")
    metrics = JobMetrics()
    producer = metrics.instrument_producer(queue)
    await queue.bulk([MetricsOk.make(n=i) for i in range(5)] + [MetricsReleases.make(n=1)])
    worker = Worker(
        ["fast", "default"], connection=queue, concurrency=4, sleep_s=0.01,
        stop_when_empty=True, events=Events(),
    )  # fmt: skip
    metrics.attach(worker, every_s=0.05)
    from gello_queue import set_default_queue

    set_default_queue(queue)
    try:
        await asyncio.wait_for(worker.start(), 10)
    finally:
        set_default_queue(None)
    s = scrape(metrics.render().decode())
    assert value(s, "gello_jobs_dispatched_total", queue="fast", job="MetricsOk") == 5
    assert value(s, "gello_jobs_dispatched_total", queue="default", job="MetricsFails") == 1
    assert value(s, "gello_jobs_processed_total", queue="fast", job="MetricsOk") == 5
    assert value(s, "gello_jobs_processed_total", queue="default", job="MetricsReleases") == 1
    assert value(s, "gello_jobs_released_total", queue="default", job="MetricsReleases") == 1
    assert value(s, "gello_jobs_retried_total", queue="default", job="MetricsFails") == 1
    assert value(s, "gello_jobs_failed_total", queue="default", job="MetricsFails") == 1
    assert value(s, "gello_job_run_seconds_count", queue="fast", job="MetricsOk") == 5
    assert value(s, "gello_job_wait_seconds_count", queue="fast", job="MetricsOk") == 5
    assert total(s, "gello_job_run_seconds_count") == 5 + 2 + 1
    assert not [k for k in s if any(label == "id" for label, _ in k[1])]

    await MetricsOk.dispatch(n=9, connection=queue)
    await metrics.collect(await queue.driver())
    s = scrape(metrics.render().decode())
    assert value(s, "gello_queue_jobs", queue="fast", state="pending") == 1
    assert value(s, "gello_queue_jobs", queue="default", state="failed") == 1
    assert value(s, "gello_queue_oldest_pending_age_seconds", queue="fast") >= 0
    assert value(s, "gello_workers") == 0
    producer.emit(JobsRescued(requeued=[], failed=[]))


async def test_rescued_jobs_are_labelled_by_the_collector() -> None:
    queue = Queue(f"memory://metrics-{uuid.uuid4().hex}")
    job_id = await MetricsOk.dispatch(n=1, connection=queue)
    metrics = JobMetrics()
    metrics(JobsRescued(requeued=[job_id], failed=["gone"]))
    await metrics.collect(await queue.driver())
    s = scrape(metrics.render().decode())
    assert value(s, "gello_jobs_rescued_total", queue="fast", job="MetricsOk") == 1
    assert value(s, "gello_jobs_rescued_total", queue="unknown", job="unknown") == 1


def test_label_sets_are_capped() -> None:
    metrics = JobMetrics()
    from gello_queue import metrics as module
    from gello_queue.events import JobProcessed

    for i in range(module.MAX_LABEL_SETS + 50):
        metrics(JobProcessed("x", f"Job{i}", "q", 1, 0.001))
    s = scrape(metrics.render().decode())
    assert value(s, "gello_jobs_processed_total", queue="other", job="other") == 50


def _scrape_http(port: int) -> dict[Any, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return scrape(r.read().decode())


def _dispatch(env: dict[str, str], count: int, *, job: str = "Ledger") -> None:
    for i in range(count):
        out = gello(
            env, "queue:dispatch", job, "--payload", orjson.dumps({"key": f"k{i}"}).decode()
        )
        assert out.returncode == 0, out.stderr


def _worker_env(tmp_path: Path, port: int) -> dict[str, str]:
    return clean_env(
        QUEUE_URL=f"sqlite:///{tmp_path / 'q.db'}",
        PYTHONPATH=str(CLI_DIR),
        GELLO_APP="app_jobs",
        GELLO_TEST_LEDGER=str(tmp_path / "ledger.txt"),
        GELLO_TEST_FLAG=str(tmp_path / "flag"),
        QUEUE_METRICS_PORT=str(port),
        QUEUE_METRICS_HOST="127.0.0.1",  # whatever this machine is, never every interface
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_scrape_a_real_worker_during_its_run(tmp_path: Path) -> None:
    port = free_port()
    env = _worker_env(tmp_path, port)
    _dispatch(env, 6)
    _dispatch(env, 1, job="Toggle")  # fails twice: one retry, one failure
    proc = subprocess.Popen(
        [GELLO, "queue:work", "--concurrency", "4", "--sleep", "0.05"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:

        def settled() -> dict[Any, float] | None:
            try:
                s = _scrape_http(port)
            except OSError:
                return None
            done = total(s, "gello_jobs_processed_total") + total(s, "gello_jobs_failed_total")
            return s if done == 7 else None

        s = wait_for(settled, timeout_s=30)
        assert value(s, "gello_jobs_processed_total", queue="default", job="Ledger") == 6
        assert value(s, "gello_jobs_failed_total", queue="default", job="Toggle") == 1
        assert value(s, "gello_jobs_retried_total", queue="default", job="Toggle") == 1
        assert value(s, "gello_job_run_seconds_count", queue="default", job="Ledger") == 6
        assert total(s, "process_resident_memory_bytes") > 0

        def gauges() -> dict[Any, float] | None:
            s = _scrape_http(port)
            failed = value(s, "gello_queue_jobs", queue="default", state="failed")
            return s if failed == 1 else None

        s = wait_for(gauges, timeout_s=15)  # the collector refreshes every 5 s
        assert value(s, "gello_queue_jobs", queue="default", state="pending") == 0
        assert value(s, "gello_workers_concurrency") == 4
        assert value(s, "gello_workers") == 1
    finally:
        _stop(proc)


def test_one_endpoint_for_all_supervised_processes(tmp_path: Path) -> None:
    port = free_port()
    env = _worker_env(tmp_path, port)
    _dispatch(env, 10)
    proc = subprocess.Popen(
        [GELLO, "queue:work", "--processes", "2", "--sleep", "0.05"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:

        def all_done() -> dict[Any, float] | None:
            try:
                s = _scrape_http(port)
            except OSError:
                return None
            return s if total(s, "gello_jobs_processed_total") == 10 else None

        wait_for(all_done, timeout_s=30)
        assert listening_on(port, proc.pid) == ["127.0.0.1"]
        pids = {line.split()[2] for line in (tmp_path / "ledger.txt").read_text().splitlines()}
        assert pids  # jobs ran in the children, the supervisor served their sum

        def two_workers() -> dict[Any, float] | None:
            s = _scrape_http(port)
            return s if value(s, "gello_workers") == 2 else None

        wait_for(two_workers, timeout_s=15)
    finally:
        _stop(proc)


async def test_metrics_listen_on_loopback_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    outside_a_container(monkeypatch, tmp_path)
    for name in ("QUEUE_METRICS_PORT", "QUEUE_METRICS_HOST"):
        monkeypatch.delenv(name, raising=False)
    port = free_port()
    monkeypatch.setenv("QUEUE_METRICS_PORT", str(port))
    for host in (None, "127.0.0.2", "::1"):
        if host is not None:
            monkeypatch.setenv("QUEUE_METRICS_HOST", host)
        queue = Queue(f"memory://metrics-{uuid.uuid4().hex}")
        # A worker started from Python serves /metrics as `gello queue:work` does.
        async with running(Worker(connection=queue, events=Events(), sleep_s=0.02)):
            want = [host or "127.0.0.1"]
            assert await eventually(lambda: asyncio.to_thread(listening_on, port)) == want
            url = f"http://{_url_host(want[0])}:{port}/metrics"
            assert b"gello_jobs_processed" in await asyncio.to_thread(_read, url)
        assert listening_on(port) == []


def _read(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as resp:
        body: bytes = resp.read()
        return body


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def test_importing_gello_loads_no_prometheus() -> None:
    code = "import sys, gello_queue, gello_queue.testing; print('prometheus_client' in sys.modules)"
    out = subprocess.run(
        [str(Path(GELLO).with_name("python")), "-c", code],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.stdout.strip() == "False", out.stderr


async def test_eventually_is_available() -> None:
    assert await eventually(lambda: asyncio.sleep(0, result=1)) == 1
