"""Health probes on ``QUEUE_HEALTH_PORT``: ``/healthz`` (liveness) and ``/readyz`` (readiness).

- Liveness: the worker's event loop turns. A ticker task in the loop stamps the time every
  half second; the probe (served from a thread, so a stalled loop cannot hide it) fails
  when the stamp is older than ``STALL_S``. It never touches the backend, so an outage
  does not get healthy workers restarted.
- Readiness: the backend answers ``counts()`` and ``failed_count()`` within a timeout.

The JSON body follows the product document: ``status``, ``workers`` (state, processed,
failed, uptime), ``queues`` (name, size) and ``failedJobs``. No URLs or secrets in it.
Workers, queues and the failed count are served only with ``QUEUE_HEALTH_DETAIL=true``;
otherwise a probe says healthy or not and which part failed (``summary``). The server
listens on ``QUEUE_HEALTH_HOST`` (loopback unless in a container, see ``settings``).

With ``--processes N`` the supervisor serves the probes: children write their status to a
shared directory and the supervisor checks every live child's stamp.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Coroutine
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, TypeVar

from gello_queue.core.states import WorkerState
from gello_queue.events import WorkerEvent
from gello_queue.ports import QueueCounts, QueueDriver, RestartWatch
from gello_queue.settings import SUPERVISED_HEALTH_ENV

if TYPE_CHECKING:
    from gello_queue.queue import Queue
    from gello_queue.worker.runtime import Worker

T = TypeVar("T")

STALL_S = 10.0
"""A loop whose stamp is older than this is stalled (liveness fails)."""
TICK_S = 0.5
BACKEND_TIMEOUT_S = 3.0
"""Set for a supervisor's children: where each writes ``<pid>.json`` every tick."""

Probe = tuple[bool, dict[str, Any]]
"""(healthy, JSON body)."""


def uptime(seconds: float) -> str:
    """``2h 34m`` as in the product document."""
    seconds = int(max(seconds, 0))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def queues_body(counts: dict[str, QueueCounts]) -> list[dict[str, Any]]:
    """Queue sizes (``size`` = pending + scheduled + reserved) with their parts."""
    return [
        {
            "name": name,
            "size": c.total,
            "pending": c.pending,
            "scheduled": c.scheduled,
            "reserved": c.reserved,
            "failed": c.failed,
        }
        for name, c in sorted(counts.items())
    ]


async def backend_restarts(driver: QueueDriver) -> dict[str, Any] | None:
    """Restarts of the backend's server that workers noticed (``count``, ``last_at``,
    ``persistent``), or None: none noticed, or a backend that cannot tell (only Redis
    can: a database keeps its rows across a restart, a broker its durable messages)."""
    return await driver.server_restarts() if isinstance(driver, RestartWatch) else None


def restart_line(restarts: dict[str, Any], now: float) -> str:
    """One line on the last restart for people (the health command, the dashboard)."""
    ago = uptime(now - float(restarts["last_at"]))
    line = f"the backend server restarted {ago} ago ({restarts['count']} restart(s) seen)"
    if restarts["persistent"]:
        return f"{line}: writes it had not saved yet are lost"
    return f"{line} and keeps nothing on disk: the jobs it held are lost; turn on appendonly"


async def backend_facts(driver: QueueDriver) -> dict[str, Any]:
    """What readiness reports from the backend: queue sizes, the failed count, and the
    server's restarts when any was noticed."""
    started = time.perf_counter()
    counts = await driver.counts()
    failed = await driver.failed_count()
    restarts = await backend_restarts(driver)
    backend: dict[str, Any] = {
        "ok": True,
        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
    }
    if restarts is not None:
        backend["restarts"] = restarts
    return {"queues": queues_body(counts), "failedJobs": failed, "backend": backend}


def run_in(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T], timeout_s: float) -> T:
    """Run ``coro`` on ``loop`` (from another thread) and wait at most ``timeout_s``."""
    future = asyncio.run_coroutine_threadsafe(coro, loop)
    try:
        return future.result(timeout_s)
    except TimeoutError:
        future.cancel()
        raise


def backend_down(error: BaseException) -> dict[str, Any]:
    """The ``backend`` part of a probe body when the backend did not answer."""
    # Only the exception type and its first line: driver errors are already redacted,
    # but a probe body is public enough to keep short.
    from gello_queue.observability import redact_url

    message = redact_url(str(error).splitlines()[0] if str(error) else "")[:200]
    return {"ok": False, "error": f"{type(error).__name__}: {message}".rstrip(": ")}


class WorkerHealth:
    """Probes of one worker process; ``attach`` it before the worker starts."""

    def __init__(self, worker: Worker, *, stall_s: float = STALL_S) -> None:
        self.worker = worker
        self.stall_s = stall_s
        self.last_tick: float | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._status_dir = os.environ.get(SUPERVISED_HEALTH_ENV)

    def attach(self) -> WorkerHealth:
        self.worker.events.subscribe(self._lifecycle)
        return self

    def _lifecycle(self, event: Any) -> None:
        if not isinstance(event, WorkerEvent):
            return
        if event.started and self._task is None:
            self.loop = asyncio.get_running_loop()
            self.last_tick = time.monotonic()
            self._task = self.loop.create_task(self._tick())
        elif event.state is WorkerState.STOPPED and self._task is not None:
            self._task.cancel()
            self._task = None
            self._write_status(final=True)

    async def _tick(self) -> None:
        while True:
            self.last_tick = time.monotonic()
            self._write_status()
            await asyncio.sleep(TICK_S)

    def _write_status(self, final: bool = False) -> None:
        if self._status_dir is None:
            return
        path = os.path.join(self._status_dir, f"{os.getpid()}.json")
        data = {"worker": self.worker_body(), "tick": time.time(), "final": final}
        tmp = f"{path}.tmp"
        with contextlib.suppress(OSError):
            with open(tmp, "w") as out:
                json.dump(data, out)
            os.replace(tmp, path)

    def worker_body(self) -> dict[str, Any]:
        for _ in range(5):
            try:
                status = self.worker.status()
                break
            except RuntimeError:
                continue  # read from a probe thread while the loop changed running jobs
        else:
            return {"name": self.worker.name, "state": str(self.worker.state)}
        return {
            "id": status.id,
            "name": self.worker.name,
            "queue": ",".join(self.worker.queues),
            "state": str(status.state),
            "processed": status.processed,
            "failed": status.failed,
            "busy": len(status.current_jobs),
            "concurrency": self.worker.concurrency,
            "uptime": uptime(status.uptime_s),
            "uptime_s": round(status.uptime_s, 3),
        }

    def liveness(self) -> Probe:
        lag = None if self.last_tick is None else time.monotonic() - self.last_tick
        ok = lag is not None and lag < self.stall_s
        body = {
            "status": "healthy" if ok else "unhealthy",
            "loop": {"ok": ok, "last_tick_s": None if lag is None else round(lag, 3)},
            "workers": [self.worker_body()],
        }
        return ok, body

    def readiness(self, timeout_s: float = BACKEND_TIMEOUT_S) -> Probe:
        live, body = self.liveness()
        if self.loop is None or not live:
            body["backend"] = {"ok": False, "error": "the worker's loop is not running"}
            return False, body
        try:
            driver = run_in(self.loop, self.worker.connection.driver(), timeout_s)
            body.update(run_in(self.loop, backend_facts(driver), timeout_s))
        except Exception as exc:
            body["backend"] = backend_down(exc)
            body["status"] = "unhealthy"
            return False, body
        return True, body


class SupervisorHealth:
    """Probes of a ``--processes N`` supervisor, from its children's status files."""

    def __init__(self, queue: Queue, directory: str, *, stall_s: float = STALL_S) -> None:
        self.queue = queue
        self.directory = directory
        self.stall_s = stall_s
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def _children(self) -> list[dict[str, Any]]:
        import psutil

        found = []
        for child in psutil.Process().children():
            path = os.path.join(self.directory, f"{child.pid}.json")
            try:
                with open(path) as data:
                    found.append(json.load(data))
            except (OSError, ValueError):
                found.append({"worker": {"pid": child.pid, "state": "starting"}, "tick": 0.0})
        return found

    def liveness(self) -> Probe:
        now = time.time()
        children = self._children()
        ok = bool(children) and all(now - c["tick"] < self.stall_s for c in children)
        body = {
            "status": "healthy" if ok else "unhealthy",
            "workers": [c["worker"] for c in children],
        }
        return ok, body

    def readiness(self, timeout_s: float = BACKEND_TIMEOUT_S) -> Probe:
        ok, body = self.liveness()
        try:
            driver = run_in(self.loop, self.queue.driver(), timeout_s)
            body.update(run_in(self.loop, backend_facts(driver), timeout_s))
        except Exception as exc:
            body["backend"] = backend_down(exc)
            body["status"] = "unhealthy"
            return False, body
        return ok, body

    def close(self) -> None:
        with contextlib.suppress(Exception):
            run_in(self.loop, self.queue.close(), 2.0)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)


def summary(body: dict[str, Any]) -> dict[str, Any]:
    """What a probe answers without ``QUEUE_HEALTH_DETAIL``: healthy or not, and which
    part (the worker's loop, the backend) is ok, naming no worker, queue or host."""
    short: dict[str, Any] = {"status": body.get("status")}
    for part in ("loop", "backend"):
        if isinstance(body.get(part), dict):
            short[part] = {"ok": body[part].get("ok")}
    return short


class _Probes(ThreadingHTTPServer):
    daemon_threads = True
    probes: dict[str, Callable[[], Probe]]
    detail: bool


class _Probes6(_Probes):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _Probes

    def do_GET(self) -> None:
        probe = self.server.probes.get(self.path.split("?", 1)[0])
        if probe is None:
            ok, body = False, {"error": "not found: use /healthz or /readyz"}
            code = 404
        else:
            ok, body = probe()
            code = 200 if ok else 503
            if not self.server.detail:
                body = summary(body)
        raw = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        return None  # probes every few seconds would flood the worker's log


def serve(
    port: int,
    liveness: Callable[[], Probe],
    readiness: Callable[[], Probe],
    addr: str = "127.0.0.1",
    *,
    detail: bool = False,
) -> Callable[[], None]:
    """Serve ``/healthz`` and ``/readyz`` on ``addr`` from a daemon thread; return the stop
    function. The bodies list workers and queues only with ``detail`` (else ``summary``):
    anyone who can reach the port can read them."""
    server = (_Probes6 if ":" in addr else _Probes)((addr, port), _Handler)
    server.probes = {"/healthz": liveness, "/readyz": readiness, "/health": readiness}
    server.detail = detail
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop
