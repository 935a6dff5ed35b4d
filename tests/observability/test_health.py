"""Health probes: liveness follows the worker's loop, readiness follows the backend."""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from helpers import eventually, wait_for
from obs_harness import GELLO, clean_env, gello, listening_on, outside_a_container, running
from pydantic import BaseModel

import gello_queue.settings as gello_settings
from gello_queue import Job, Queue, Worker, load_settings
from gello_queue.dispatch_hooks import HookedDriver
from gello_queue.events import Events
from gello_queue.health import WorkerHealth, serve, uptime

CLI_DIR = Path(__file__).resolve().parent.parent / "cli"


class H(BaseModel):
    n: int


class HealthSlow(Job[H]):
    async def handle(self, payload: H) -> None:
        await asyncio.sleep(0.01)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(port: int, path: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


class Flaky:
    """Makes the backend's read calls fail while ``down`` is set."""

    def __init__(self) -> None:
        self.down = False

    def wrap(self, queue: Queue) -> None:
        factory = queue._factory
        flaky = self

        class Driver(HookedDriver):
            async def counts(self) -> Any:
                if flaky.down:
                    raise ConnectionError("connection refused by redis://app:s3cret@db:6379")
                return await self.inner.counts()

        queue._factory = lambda: Driver(factory(), [])  # type: ignore[assignment]


async def test_probes_of_a_running_worker_with_the_backend_up_and_down() -> None:
    queue = Queue(f"memory://health-{uuid.uuid4().hex}")
    flaky = Flaky()
    flaky.wrap(queue)
    await queue.bulk([HealthSlow.make(n=i) for i in range(5)])
    worker = Worker(connection=queue, sleep_s=0.02, events=Events(), concurrency=2)
    probes = WorkerHealth(worker).attach()
    port = free_port()
    stop = serve(port, probes.liveness, probes.readiness, "127.0.0.1", detail=True)
    status, body = await asyncio.to_thread(get, port, "/healthz")
    assert status == 503
    assert body["status"] == "unhealthy"
    running = asyncio.create_task(worker.start())
    try:
        await eventually(lambda: asyncio.sleep(0, worker.counters.processed), lambda n: n == 5)
        status, body = await asyncio.to_thread(get, port, "/healthz")
        assert status == 200, body
        assert body["status"] == "healthy"
        (w,) = body["workers"]
        assert (w["state"], w["processed"], w["failed"], w["queue"]) == ("running", 5, 0, "default")
        assert w["uptime"].endswith("s")
        status, body = await asyncio.to_thread(get, port, "/readyz")
        assert status == 200, body
        assert body["queues"] == []
        assert body["failedJobs"] == 0
        assert body["backend"]["ok"] is True

        flaky.down = True
        status, body = await asyncio.to_thread(get, port, "/readyz")
        assert status == 503
        assert body["status"] == "unhealthy"
        assert body["backend"]["error"].startswith("ConnectionError: connection refused")
        assert "s3cret" not in json.dumps(body)
        status, _ = await asyncio.to_thread(get, port, "/healthz")
        assert status == 200  # an outage must not get a healthy worker restarted
        flaky.down = False
        status, body = await asyncio.to_thread(get, port, "/readyz")
        assert status == 200
        assert (await asyncio.to_thread(get, port, "/nope"))[0] == 404
    finally:
        worker.stop()
        await running
        stop()


async def test_liveness_fails_while_the_loop_is_stalled() -> None:
    queue = Queue(f"memory://health-{uuid.uuid4().hex}")
    worker = Worker(connection=queue, sleep_s=0.02, events=Events())
    probes = WorkerHealth(worker, stall_s=0.3).attach()
    running = asyncio.create_task(worker.start())
    try:
        await eventually(lambda: asyncio.sleep(0, probes.liveness()[0]))
        seen: list[bool] = []
        probe = threading.Timer(0.6, lambda: seen.append(probes.liveness()[0]))
        probe.start()
        time.sleep(0.9)  # noqa: ASYNC251 -- the point: block the loop
        probe.join()
        assert seen == [False]
        await eventually(lambda: asyncio.sleep(0, probes.liveness()[0]))
    finally:
        worker.stop()
        await running


ENDPOINT_SETTINGS = ("QUEUE_HEALTH_PORT", "QUEUE_HEALTH_HOST", "QUEUE_HEALTH_DETAIL")


def _memory_worker(**options: Any) -> Worker:
    queue = Queue(f"memory://health-{uuid.uuid4().hex}")
    return Worker(connection=queue, sleep_s=0.02, events=Events(), **options)


async def test_probes_listen_on_loopback_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A worker started from Python serves its probes as `gello queue:work` does.
    outside_a_container(monkeypatch, tmp_path)
    for name in ENDPOINT_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    port = free_port()
    monkeypatch.setenv("QUEUE_HEALTH_PORT", str(port))
    for host in ("127.0.0.1", "127.0.0.2", "::1"):
        if host != "127.0.0.1":
            monkeypatch.setenv("QUEUE_HEALTH_HOST", host)
        async with running(_memory_worker()):
            assert await eventually(lambda: asyncio.to_thread(listening_on, port)) == [host]
        assert listening_on(port) == []  # closed when the worker stopped


def test_in_a_container_the_endpoints_listen_on_every_interface(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A port published from a container reaches it on its own interface, not loopback.
    marker = tmp_path / ".dockerenv"
    marker.touch()
    monkeypatch.setattr(gello_settings, "CONTAINER_MARKERS", (str(tmp_path / "x"), str(marker)))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    for name in ("QUEUE_HEALTH_HOST", "QUEUE_METRICS_HOST"):
        monkeypatch.delenv(name, raising=False)
    found = load_settings()
    assert (found.queue_health_host, found.queue_metrics_host) == ("0.0.0.0", "0.0.0.0")
    marker.unlink()
    monkeypatch.setenv("QUEUE_HEALTH_HOST", "")  # as .env.example leaves it: choose for me
    found = load_settings()
    assert (found.queue_health_host, found.queue_metrics_host) == ("127.0.0.1", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    assert load_settings().queue_health_host == "0.0.0.0"
    monkeypatch.setenv("QUEUE_HEALTH_HOST", "10.1.2.3")
    monkeypatch.setenv("QUEUE_METRICS_HOST", "::1")
    found = load_settings()
    assert (found.queue_health_host, found.queue_metrics_host) == ("10.1.2.3", "::1")


async def test_probes_name_workers_and_queues_only_when_asked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    outside_a_container(monkeypatch, tmp_path)
    for name in ENDPOINT_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    port = free_port()
    monkeypatch.setenv("QUEUE_HEALTH_PORT", str(port))
    for detail in ("", "true"):
        monkeypatch.setenv("QUEUE_HEALTH_DETAIL", detail or "false")
        worker = _memory_worker(name="billing-7")
        await worker.connection.dispatch(HealthSlow.make(n=1).options(queue="payroll"))
        async with running(worker):

            async def ready() -> tuple[int, dict[str, Any]]:
                try:
                    return await asyncio.to_thread(get, port, "/readyz")
                except urllib.error.URLError:  # the worker has not opened its probes yet
                    return 0, {}

            _, ready_body = await eventually(ready, lambda got: got[0] == 200)
            _, live_body = await asyncio.to_thread(get, port, "/healthz")
        if detail:
            assert ready_body["workers"][0]["name"] == "billing-7"
            assert [q["name"] for q in ready_body["queues"]] == ["payroll"]
            assert ready_body["failedJobs"] == 0
            assert live_body["workers"][0]["name"] == "billing-7"
        else:
            assert ready_body == {
                "status": "healthy",
                "loop": {"ok": True},
                "backend": {"ok": True},
            }
            assert live_body == {"status": "healthy", "loop": {"ok": True}}


def test_uptime_reads_like_the_product_document() -> None:
    assert [uptime(s) for s in (5, 75, 9240, 200000)] == ["5s", "1m 15s", "2h 34m", "2d 7h"]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return clean_env(
        QUEUE_URL=f"sqlite:///{tmp_path / 'q.db'}",
        PYTHONPATH=str(CLI_DIR),
        GELLO_APP="app_jobs",
        GELLO_TEST_LEDGER=str(tmp_path / "ledger.txt"),
        GELLO_TEST_FLAG=str(tmp_path / "flag"),
        QUEUE_HEALTH_HOST="127.0.0.1",  # whatever this machine is, never every interface
        **extra,
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _ok(port: int, path: str, workers: int) -> dict[str, Any] | None:
    try:
        status, body = get(port, path)
    except OSError:
        return None
    return body if status == 200 and len(body["workers"]) == workers else None


def test_queue_health_exit_codes_and_worker_probes(tmp_path: Path) -> None:
    down = gello(clean_env(QUEUE_URL="redis://:hunter2@127.0.0.1:1/0"), "queue:health", "--json")
    assert down.returncode == 2, down.stderr
    assert orjson.loads(down.stdout)["status"] == "unhealthy"
    assert "hunter2" not in down.stdout

    port = free_port()
    env = _env(tmp_path, QUEUE_HEALTH_PORT=str(port), QUEUE_HEALTH_DETAIL="true")
    gello(env, "queue:dispatch", "Ledger", "--payload", '{"key": "a"}')
    none = gello(env, "queue:health")
    assert none.returncode == 1, none.stdout + none.stderr
    assert "no live worker" in none.stdout
    assert gello(env, "queue:health", "--backend-only").returncode == 0

    proc = subprocess.Popen(
        [GELLO, "queue:work", "--sleep", "0.05", "--name", "probe"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        body = wait_for(lambda: _ok(port, "/healthz", 1), timeout_s=20)
        assert body["workers"][0]["name"] == "probe"
        ready = wait_for(lambda: _ok(port, "/readyz", 1), timeout_s=20)
        assert ready["failedJobs"] == 0
        wait_for(lambda: gello(env, "queue:health", "--name", "probe").returncode == 0)
        out = gello(env, "queue:health", "--json")
        assert orjson.loads(out.stdout)["workers"][0]["name"] == "probe"
        assert gello(env, "queue:health", "--name", "other").returncode == 1
    finally:
        _stop(proc)


def test_one_pair_of_probes_for_supervised_processes(tmp_path: Path) -> None:
    port = free_port()
    env = _env(tmp_path, QUEUE_HEALTH_PORT=str(port), QUEUE_HEALTH_DETAIL="true")
    proc = subprocess.Popen(
        [GELLO, "queue:work", "--processes", "2", "--sleep", "0.05"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        body = wait_for(lambda: _ok(port, "/healthz", 2), timeout_s=30)
        assert listening_on(port, proc.pid) == ["127.0.0.1"]
        assert {w["state"] for w in body["workers"]} == {"running"}
        ready = wait_for(lambda: _ok(port, "/readyz", 2), timeout_s=20)
        assert ready["backend"]["ok"] is True
    finally:
        _stop(proc)
