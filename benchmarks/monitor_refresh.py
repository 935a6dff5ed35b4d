"""What one dashboard refresh costs per driver, and whether the UI ever waits on it.

Seeds 50 queues (20 pending jobs each), 20 workers and 100,000 failed jobs through the
driver port, then measures one ``Inspector.snapshot()`` (what every tick reads) and one
page of the failed list (what the Failed screen adds): driver calls, backend round trips
(Redis commands and pipelines, SQL statements) and wall time. Finally it runs the real
dashboard headless for a few seconds of live refresh and reports the worst event-loop
stall the UI saw.

    .venv/bin/python benchmarks/monitor_refresh.py [--drivers sqlite,redis,postgres] [--failed 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from gello_queue import JobState, Queue, Settings
from gello_queue.core.envelope import Envelope, new_id
from gello_queue.inspection import Inspector
from gello_queue.ports import Failure, QueueDriver, WorkerRecord

REDIS_URL = "redis://127.0.0.1:6379/0"
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
QUEUES = [f"queue-{i:02d}" for i in range(50)]


class Tally:
    """Round trips to the backend, counted by patching the client libraries."""

    def __init__(self) -> None:
        self.trips = 0
        self.commands = 0

    def reset(self) -> None:
        self.trips = self.commands = 0


TALLY = Tally()


def patch_clients() -> None:
    import asyncpg.pool
    import redis.asyncio.client as rc

    plain = rc.Redis.execute_command

    async def execute_command(self: Any, *args: Any, **kw: Any) -> Any:
        TALLY.trips += 1
        TALLY.commands += 1
        return await plain(self, *args, **kw)

    rc.Redis.execute_command = execute_command  # type: ignore[method-assign]
    piped = rc.Pipeline.execute

    async def execute(self: Any, *args: Any, **kw: Any) -> Any:
        TALLY.trips += 1
        TALLY.commands += len(self.command_stack)
        return await piped(self, *args, **kw)

    rc.Pipeline.execute = execute  # type: ignore[method-assign]
    for name in ("fetch", "fetchval", "fetchrow", "execute"):
        original = getattr(asyncpg.pool.Pool, name)

        def counted(original: Any = original) -> Any:
            async def call(self: Any, *args: Any, **kw: Any) -> Any:
                TALLY.trips += 1
                TALLY.commands += 1
                return await original(self, *args, **kw)

            return call

        setattr(asyncpg.pool.Pool, name, counted())


class CountingSqlite:
    """Wraps a sqlite3 connection: every ``execute`` is one statement."""

    def __init__(self, db: Any) -> None:
        self._db = db

    def execute(self, *args: Any) -> Any:
        TALLY.trips += 1
        TALLY.commands += 1
        return self._db.execute(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


class CountingDriver:
    """Counts port calls by method name."""

    def __init__(self, driver: QueueDriver) -> None:
        self._driver = driver
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._driver, name)
        if not callable(value) or name.startswith("_"):
            return value

        def call(*args: Any, **kw: Any) -> Any:
            self.calls[name] += 1
            return value(*args, **kw)

        return call


@asynccontextmanager
async def connection(name: str, workdir: Path) -> AsyncIterator[Queue]:
    if name == "sqlite":
        queue = Queue(f"sqlite:///{workdir / 'bench.db'}")
        yield queue
        await queue.close()
        return
    if name == "redis":
        prefix = f"gbench:{uuid.uuid4().hex}:"
        queue = Queue(REDIS_URL, settings=Settings(queue_prefix=prefix))
        try:
            yield queue
        finally:
            driver: Any = await queue.driver()
            keys = [k async for k in driver.redis.scan_iter(match=f"{prefix}*", count=1000)]
            for i in range(0, len(keys), 500):
                await driver.redis.unlink(*keys[i : i + 500])
            await queue.close()
        return
    import asyncpg

    schema = f"gbench_{uuid.uuid4().hex}"
    queue = Queue(f"{POSTGRES_URL}?schema={schema}")
    try:
        migrate = getattr(queue._factory(), "migrate", None)
        if migrate is not None:
            await migrate()
        yield queue
    finally:
        await queue.close()
        con = await asyncpg.connect(POSTGRES_URL)
        await con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await con.close()


def envelope(queue: str, now: float) -> Envelope:
    return Envelope(
        id=new_id(),
        name="SendInvoice",
        queue=queue,
        payload={"invoice": 1, "email": "ada@example.com"},
        max_attempts=1,
        available_at=now,
        created_at=now,
    )


async def seed(driver: QueueDriver, failed: int) -> None:
    now = await driver.now()
    failure = Failure("TimeoutError", "smtp did not answer", "Traceback ...\nTimeoutError")
    batch = 1000
    for start in range(0, failed, batch):
        queue = QUEUES[(start // batch) % len(QUEUES)]
        envs = [envelope(queue, now) for _ in range(min(batch, failed - start))]
        await driver.push(envs)
        reserved = await driver.reserve([queue], len(envs), lease_s=300, worker_id="seed")
        bodies = {e.id: e.encode().decode() for e in envs}
        for i in range(0, len(reserved), 50):  # bounded concurrency: pools have limits
            chunk = reserved[i : i + 50]
            await asyncio.gather(*(driver.fail(r, bodies[r.id], failure) for r in chunk))
    await driver.push([envelope(q, now) for q in QUEUES for _ in range(20)])
    for w in range(20):
        record = WorkerRecord(
            id=f"bench-{w}",
            name=f"worker-{w}",
            host="bench",
            pid=1000 + w,
            queues=QUEUES[w % 5 :: 5],
            concurrency=8,
            state="running",
            processed=100,
            failed=1,
            current_jobs=[],
            started_at=now,
            memory_bytes=50_000_000,
        )
        await driver.worker_beat(record, 3600)
    minute = int(now // 60) * 60
    for m in range(60):
        await driver.record_throughput({q: (5, 1) for q in QUEUES}, minute - 60 * m)


async def measure(
    label: str, action: Callable[[], Awaitable[Any]], counting: CountingDriver, runs: int = 10
) -> str:
    await action()  # warm: scripts loaded, statements prepared
    times = []
    counting.calls.clear()
    TALLY.reset()
    for _ in range(runs):
        t0 = time.perf_counter()
        await action()
        times.append(time.perf_counter() - t0)
    calls = sum(counting.calls.values()) // runs
    return (
        f"  {label:<22} {calls:>3} port calls, {TALLY.trips / runs:>5.1f} round trips, "
        f"{TALLY.commands / runs:>6.1f} commands/statements, "
        f"median {statistics.median(times) * 1000:7.1f} ms, max {max(times) * 1000:7.1f} ms"
    )


async def ui_stall(queue: Queue, seconds: float) -> tuple[dict[str, float], int]:
    """Run the dashboard headless with live refresh; return the worst loop stall per
    screen (ms) in steady state (after the screen's first composition)."""
    from gello_cli.tui.app import MonitorApp
    from gello_cli.tui.backend import Backend

    backend = Backend(queue)
    app = MonitorApp(backend, url=queue.url, interval=0.5)
    worst: dict[str, float] = {}
    async with app.run_test(size=(120, 40)) as pilot:
        for key, screen in (
            ("1", "overview"),
            ("4", "failed"),
            ("2", "queues"),
            ("5", "workers"),
            ("3", "jobs"),
        ):
            await pilot.press(key)
            await pilot.pause(0.5)
            stop = time.monotonic() + seconds / 5
            worst[screen] = 0.0
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                await asyncio.sleep(0.005)
                worst[screen] = max(worst[screen], (time.perf_counter() - t0 - 0.005) * 1000)
        ticks = app.ticks
    await asyncio.to_thread(backend.close)
    return worst, ticks


async def in_loop_stall(queue: Queue, inspector: Inspector) -> float:
    """For contrast: the stall if the snapshot ran on the UI's own loop."""
    worst = 0.0
    stop = asyncio.Event()

    async def probe() -> None:
        nonlocal worst
        while not stop.is_set():
            t0 = time.perf_counter()
            await asyncio.sleep(0.001)
            worst = max(worst, time.perf_counter() - t0 - 0.001)

    task = asyncio.create_task(probe())
    await asyncio.sleep(0.01)
    for _ in range(3):
        await inspector.snapshot(recent_failures=5)
        await inspector.failed(limit=200)
    stop.set()
    await task
    return worst * 1000


async def run(name: str, failed: int, ui_seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with connection(name, Path(tmp)) as queue:
            driver = await queue.driver()
            t0 = time.perf_counter()
            await seed(driver, failed)
            print(
                f"{name}: seeded {failed} failed jobs, 50 queues, 20 workers in {time.perf_counter() - t0:.1f}s"
            )
            if name == "sqlite":
                driver._db = CountingSqlite(driver._db)  # type: ignore[attr-defined]
            counting = CountingDriver(driver)
            loop = asyncio.get_running_loop()
            queue._drivers[loop] = counting  # type: ignore[assignment]
            inspector = Inspector(queue)
            print(
                await measure("snapshot()", lambda: inspector.snapshot(recent_failures=5), counting)
            )
            print(await measure("failed page (200)", lambda: inspector.failed(limit=200), counting))
            print(
                await measure(
                    "jobs page (200)",
                    lambda: inspector.jobs(None, JobState.PENDING, limit=200),
                    counting,
                )
            )
            print(
                f"  {'in-loop stall':<22} {await in_loop_stall(queue, inspector):7.1f} ms (if the UI awaited the driver itself)"
            )
            queue._drivers[loop] = driver
            worst, ticks = await ui_stall(queue, ui_seconds)
            per_screen = ", ".join(f"{k} {v:.0f}" for k, v in worst.items())
            print(
                f"  {'dashboard stall':<22} worst ms per screen over {ticks} live refreshes: {per_screen}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drivers", default="sqlite,redis,postgres")
    parser.add_argument("--failed", type=int, default=100_000)
    parser.add_argument("--ui-seconds", type=float, default=5.0)
    args = parser.parse_args()
    patch_clients()
    for name in args.drivers.split(","):
        asyncio.run(run(name.strip(), args.failed, args.ui_seconds))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
