"""The in-process memory driver under a backlog: what one reserve costs, and how fast an
in-process worker drains the queue, for backlogs of growing size.

    python benchmarks/memory_backlog.py
    python benchmarks/memory_backlog.py --backlog 1000 --backlog 100000 --concurrency 16

For each backlog: no-op jobs pushed in one bulk call, then reserve latency (p50/p99 of
``reserve(limit=concurrency)`` followed by an ``ack``, over the whole backlog), then the
same backlog pushed again and drained by a `Worker` in this process (jobs/s from its
start until it stops, the queue empty), its log JSON lines at info written to
/dev/null (a worker's default, minus the disk). A driver whose reserve walks every waiting
job shows it here: its latency grows with the backlog.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from noop_app import Noop  # noqa: E402

from gello_queue import Queue, Settings, Worker  # noqa: E402
from gello_queue.core.registry import default_registry as registry  # noqa: E402
from gello_queue.drivers.memory import MemoryDriver  # noqa: E402
from gello_queue.observability import configure_logging  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def memory_queue(driver: MemoryDriver) -> Queue:
    return Queue(
        "memory://bench-backlog",
        settings=Settings(),  # type: ignore[call-arg]
        registry=registry,
        factory=lambda: driver,
    )


async def reserve_latency(backlog: int, limit: int) -> list[float]:
    driver = MemoryDriver()
    await memory_queue(driver).bulk([Noop.make() for _ in range(backlog)])
    times: list[float] = []
    while True:
        start = time.perf_counter()
        got = await driver.reserve(["default"], limit, lease_s=60, worker_id="bench")
        times.append(time.perf_counter() - start)
        if not got:
            return times
        await driver.ack(got)


async def drain(backlog: int, concurrency: int) -> float:
    driver = MemoryDriver()
    queue = memory_queue(driver)
    await queue.bulk([Noop.make() for _ in range(backlog)])
    worker = Worker(
        connection=queue, registry=registry, concurrency=concurrency, stop_when_empty=True
    )
    start = time.perf_counter()
    await worker.start()
    assert worker.counters.processed == backlog, worker.counters.processed
    return backlog / (time.perf_counter() - start)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backlog", type=int, action="append", help="repeatable")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    sink = open(os.devnull, "w")  # noqa: SIM115 - open for the whole run
    configure_logging("json", stream=sink)
    backlogs = args.backlog or [1_000, 10_000, 50_000]
    print(f"memory driver, no-op jobs, reserve limit = worker concurrency = {args.concurrency}")
    print(f"{'backlog':>9} {'reserve p50':>12} {'reserve p99':>12} {'worker jobs/s':>14}")
    for backlog in backlogs:
        times = await reserve_latency(backlog, args.concurrency)
        rate = await drain(backlog, args.concurrency)
        p50, p99 = (percentile(times, q) * 1e6 for q in (0.5, 0.99))
        print(f"{backlog:>9,} {p50:>9.1f} µs {p99:>9.1f} µs {rate:>14,.0f}")


if __name__ == "__main__":
    asyncio.run(main())
