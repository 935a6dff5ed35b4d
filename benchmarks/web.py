"""Dispatch from a real web server: uvicorn serving ``benchmarks/web_app.py``, driven by
many concurrent clients.

    python benchmarks/web.py --url postgresql://postgres@127.0.0.1/test
    python benchmarks/web.py --url redis://127.0.0.1:6379/0 --requests 2000 --concurrency 500

For each view (``noop``: the baseline of the same run; ``async``: ``await
Welcome.dispatch``; ``sync``: a plain ``def`` view calling ``dispatch_blocking`` from the
server's thread pool) it prints requests/s, p50/p99 latency, errors, and the peak number
of connections the server process held to the backend (read from the process's own
sockets). The clients are an httpx client in a process of its own: the load generator
and the server share this machine's cores, which is why the no-op view is measured too.
``--check`` exits 1 when any request failed. On PostgreSQL the run uses a schema of its
own, on Redis a key prefix of its own, on SQLite a file of its own; each is removed at
the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil

ROOT = Path(__file__).resolve().parent.parent
VIEWS = ("noop", "async", "sync")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- the load generator (run in a process of its own) ------------------------------------
async def drive(base: str, view: str, requests: int, concurrency: int) -> dict[str, Any]:
    import httpx

    method = "GET" if view == "noop" else "POST"
    latencies: list[float] = []
    errors: dict[str, int] = {}
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60.0) as client:

        async def one() -> None:
            async with gate:
                started = time.perf_counter()
                try:
                    answer = await client.request(method, f"/{view}")
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    return
                latencies.append(time.perf_counter() - started)
                if answer.status_code != 200:
                    key = f"HTTP {answer.status_code}: {answer.text[:120]}"
                    errors[key] = errors.get(key, 0) + 1

        began = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(requests)))
        elapsed = time.perf_counter() - began
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "view": view,
        "requests": requests,
        "per_s": requests / elapsed,
        "p50_ms": cuts[49] * 1000,
        "p99_ms": cuts[98] * 1000,
        "errors": sum(errors.values()),
        "error_kinds": errors,
    }


# -- the server and what it holds --------------------------------------------------------
class Server:
    """uvicorn serving the app with ``env``, and a watch of its backend connections."""

    def __init__(self, env: dict[str, str], backend_port: int | None) -> None:
        self.port = free_port()
        self.backend_port = backend_port
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "benchmarks.web_app:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                "--backlog",
                "4096",
                # Idle keep-alive connections are not closed under the client's feet
                # while the machine is busy (a reused, just-closed one is an error).
                "--timeout-keep-alive",
                "120",
            ],
            cwd=ROOT,
            env=env,
        )
        self.peak = 0
        self._watching = threading.Event()

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"uvicorn exited with {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("uvicorn did not start listening within 30 s")

    def connections(self) -> int:
        if self.backend_port is None:
            return 0
        try:
            held = psutil.Process(self.proc.pid).net_connections(kind="tcp")
        except psutil.Error:
            return 0
        return sum(1 for c in held if c.raddr and c.raddr.port == self.backend_port)

    def watch(self) -> threading.Thread:
        """Sample the connections until ``stop_watching``; the peak lands in ``peak``."""
        self.peak = 0
        self._watching.set()

        def run() -> None:
            while self._watching.is_set():
                self.peak = max(self.peak, self.connections())
                time.sleep(0.02)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread

    def stop_watching(self, thread: threading.Thread) -> int:
        self._watching.clear()
        thread.join()
        return self.peak

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# -- per backend: isolation and clean-up -------------------------------------------------
class Backend:
    def __init__(self, url: str) -> None:
        self.scheme = urlsplit(url).scheme
        self.env = {"QUEUE_URL": url}
        self.cleanup: list[Any] = []
        self.port: int | None = None
        tag = uuid.uuid4().hex[:10]
        if self.scheme.startswith("postgres"):
            self.port = urlsplit(url).port or 5432
            schema = f"gbench_web_{tag}"
            sep = "&" if "?" in url else "?"
            self.env["QUEUE_URL"] = f"{url}{sep}schema={schema}"
            asyncio.run(self._migrate(self.env["QUEUE_URL"]))
            self.cleanup.append(lambda: asyncio.run(self._drop(url, schema)))
        elif self.scheme.startswith("redis"):
            self.port = urlsplit(url).port or 6379
            prefix = f"gbench-web-{tag}:"
            self.env["QUEUE_PREFIX"] = prefix
            self.cleanup.append(lambda: asyncio.run(self._delete(url, prefix)))
        elif self.scheme == "sqlite":
            folder = tempfile.mkdtemp(prefix="gello-web-")
            self.env["QUEUE_URL"] = f"sqlite:///{folder}/web.db"

    @staticmethod
    async def _migrate(url: str) -> None:
        from gello_queue.drivers.postgres import PostgresDriver

        await PostgresDriver(url).migrate()

    @staticmethod
    async def _drop(url: str, schema: str) -> None:
        import asyncpg

        con = await asyncpg.connect(url.split("?")[0])
        try:
            await con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await con.close()

    @staticmethod
    async def _delete(url: str, prefix: str) -> None:
        from redis.asyncio import Redis

        client = Redis.from_url(url)
        try:
            batch = [key async for key in client.scan_iter(match=f"{prefix}*", count=1000)]
            for start in range(0, len(batch), 500):
                await client.delete(*batch[start : start + 500])
        finally:
            await client.aclose()

    def close(self) -> None:
        for step in self.cleanup:
            step()


def measure(url: str, requests: int, concurrency: int, views: list[str]) -> list[dict[str, Any]]:
    backend = Backend(url)
    env = {**os.environ, **backend.env, "PYTHONPATH": str(ROOT)}
    server = Server(env, backend.port)
    rows = []
    try:
        server.wait_ready()
        for view in views:
            watch = server.watch()
            load = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--load",
                    f"http://127.0.0.1:{server.port}",
                    "--view",
                    view,
                    "--requests",
                    str(requests),
                    "--concurrency",
                    str(concurrency),
                ],
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            )
            row = json.loads(load.stdout)
            row["peak_connections"] = server.stop_watching(watch)
            rows.append(row)
    finally:
        server.stop()
        backend.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="sqlite:///web-bench.db")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=500)
    parser.add_argument("--views", default=",".join(VIEWS))
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 when a request failed")
    parser.add_argument("--load", help=argparse.SUPPRESS)
    parser.add_argument("--view", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        print(json.dumps(asyncio.run(drive(args.load, args.view, args.requests, args.concurrency))))
        return
    rows = measure(args.url, args.requests, args.concurrency, args.views.split(","))
    if args.json:
        print(json.dumps(rows))
    else:
        print(f"{args.requests} requests, {args.concurrency} concurrent, on {args.url}")
        print(f"{'view':<6} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'conns':>6}")
        for r in rows:
            print(
                f"{r['view']:<6} {r['per_s']:>8.0f} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f}"
                f" {r['errors']:>7} {r['peak_connections']:>6}"
            )
            for kind, n in r["error_kinds"].items():
                print(f"       {n} x {kind}")
    if args.check and any(r["errors"] for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
