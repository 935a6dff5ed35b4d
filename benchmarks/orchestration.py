"""The cost of uniqueness and rate limiting, with and without, in the same run, per driver.

    python benchmarks/orchestration.py                       # memory, sqlite, postgres, redis
    python benchmarks/orchestration.py --only redis --singles 5000 --jobs 20000

Per driver it measures:
- single awaited dispatch, jobs/s: plain jobs, then unique jobs (distinct keys: every
  push takes a lock), then debounced jobs; plus one backend round trip (``now()``) for
  scale, and the extra microseconds a unique dispatch costs expressed in round trips;
- processing, jobs/s, by one in-process worker (--concurrency): no-op jobs, unique jobs
  (the ack frees the lock), and jobs behind ``RateLimited`` with a limit they never reach
  (the middleware's counter costs one round trip per job).
Each backend is isolated (a fresh SQLite file, PostgreSQL schema or Redis prefix).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from gello_queue import Job, JobRegistry, Queue, Settings, Worker  # noqa: E402
from gello_queue.middleware import RateLimited  # noqa: E402
from gello_queue.ports import QueueDriver  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/0"
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"

registry = JobRegistry()


class P(BaseModel):
    n: int


class Plain(Job[P], register=False):
    async def handle(self, payload: P) -> None:
        return None


class Unique(Plain, register=False):
    unique = True


class Debounced(Plain, register=False):
    debounce = 0.0


class Limited(Plain, register=False):
    def middleware(self) -> list[Any]:
        return [RateLimited("bench", limit=10**9, per=60)]


for cls in (Plain, Unique, Debounced, Limited):
    registry.register(cls)


@asynccontextmanager
async def backend(name: str) -> AsyncIterator[QueueDriver]:
    token = uuid.uuid4().hex[:10]
    if name == "memory":
        from gello_queue.drivers.memory import MemoryDriver

        yield MemoryDriver()
    elif name == "sqlite":
        from gello_queue.drivers.sqlite import SqliteDriver

        with tempfile.TemporaryDirectory() as tmp:
            driver = SqliteDriver(Path(tmp) / "bench.db")
            await driver.open()
            yield driver
            await driver.close()
    elif name == "postgres":
        import asyncpg  # type: ignore[import-untyped]

        from gello_queue.drivers.postgres import PostgresDriver

        schema = f"gbench_{token}"
        driver = PostgresDriver(POSTGRES_URL, schema=schema, auto_migrate=True)
        await driver.open()
        try:
            yield driver
        finally:
            await driver.close()
            con = await asyncpg.connect(POSTGRES_URL)
            await con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            await con.close()
    else:
        from backends.redis import delete_prefix

        from gello_queue.drivers.redis import RedisDriver

        prefix = f"gbench:{token}:"
        driver = RedisDriver(REDIS_URL, prefix=prefix)
        await driver.open()
        try:
            yield driver
        finally:
            await delete_prefix(driver, prefix)
            await driver.close()


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


async def timed(count: int, call: Callable[[int], Awaitable[Any]]) -> float:
    start = time.perf_counter()
    for i in range(count):
        await call(i)
    return rate(count, time.perf_counter() - start)


async def round_trip_us(driver: QueueDriver, samples: int = 300) -> float:
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        await driver.now()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


async def drain(queue: Queue, jobs: int, concurrency: int) -> float:
    worker = Worker(connection=queue, registry=registry, concurrency=concurrency, sleep_s=0.01)
    start = time.perf_counter()
    task = asyncio.create_task(worker.start())
    while worker.counters.processed < jobs:  # noqa: ASYNC110 - polling is the measurement
        await asyncio.sleep(0.005)
    elapsed = time.perf_counter() - start
    worker.stop()
    await task
    return rate(jobs, elapsed)


async def measure(name: str, singles: int, jobs: int, concurrency: int) -> dict[str, float]:
    out: dict[str, float] = {}
    async with backend(name) as driver:
        queue = Queue(
            f"memory://bench-{name}",
            settings=Settings(),  # type: ignore[call-arg]
            registry=registry,
            factory=lambda: driver,
        )
        out["round_trip_us"] = await round_trip_us(driver)
        # Warm up (connections, prepared statements), then interleave the variants in
        # rounds so drift (vacuum, caches) hits them alike.
        variants = (Plain, Unique, Debounced)
        await timed(200, lambda i: Plain.dispatch(n=-i, connection=queue))
        spent = dict.fromkeys(variants, 0.0)
        rounds = 5
        for r in range(rounds):
            for cls in variants:
                per = singles // rounds
                start = time.perf_counter()
                for i in range(per):
                    await cls.dispatch(n=r * per + i, connection=queue)
                spent[cls] += time.perf_counter() - start
        for cls in variants:
            out[f"dispatch_{cls.__name__.lower()}"] = rate(singles // rounds * rounds, spent[cls])
        await driver.clear("default")
        for cls in (Plain, Unique, Limited):
            await queue.bulk([cls.make(n=i) for i in range(jobs)])
            out[f"process_{cls.__name__.lower()}"] = await drain(queue, jobs, concurrency)
        # logging off would flatter every figure alike; keep the worker's defaults
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only", action="append", choices=["memory", "sqlite", "postgres", "redis"]
    )
    parser.add_argument("--singles", type=int, default=2000, help="jobs dispatched one by one")
    parser.add_argument("--jobs", type=int, default=5000, help="jobs processed per variant")
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    print(
        f"singles={args.singles} jobs={args.jobs} concurrency={args.concurrency}"
        f" python={sys.version.split()[0]}"
    )
    for name in args.only or ["memory", "sqlite", "postgres", "redis"]:
        r = await measure(name, args.singles, args.jobs, args.concurrency)
        extra_us = 1e6 / r["dispatch_unique"] - 1e6 / r["dispatch_plain"]
        print(
            f"{name:9} round trip {r['round_trip_us']:7.0f} us |"
            f" dispatch/s plain {r['dispatch_plain']:8.0f} unique {r['dispatch_unique']:8.0f}"
            f" debounce {r['dispatch_debounced']:8.0f}"
            f" (unique costs {extra_us:+.0f} us = {extra_us / r['round_trip_us']:+.2f} round trips) |"
            f" processed/s plain {r['process_plain']:7.0f} unique {r['process_unique']:7.0f}"
            f" rate-limited {r['process_limited']:7.0f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
