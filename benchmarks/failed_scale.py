"""What the failed-store queries cost on a big failed store, per backend.

Fills N failed jobs (``failed_import`` in chunks) spread over 4 queues, 4 job names and
8 fingerprints, then times what the dashboard and the CLI ask of the driver: a filtered
page that matches nothing and one that matches (first page, and a page deep in by
cursor), counts, grouping by fingerprint over the whole store, a free-text search, a
retry of every failed job and a purge of every failed job (both in steps of 1,000).

    .venv/bin/python benchmarks/failed_scale.py --url redis://127.0.0.1:6379/0 --failed 100000
    .venv/bin/python benchmarks/failed_scale.py --url "postgresql://postgres@127.0.0.1:5432/postgres"
    .venv/bin/python benchmarks/failed_scale.py --url sqlite:////tmp/failed_scale.db

A Redis run uses a key prefix of its own, a PostgreSQL run a schema of its own (both
deleted at the end); a SQLite file is used as given (start from a new one).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from gello_queue import Queue, Settings
from gello_queue.core.envelope import Envelope, new_id
from gello_queue.core.failed_query import fingerprint_of
from gello_queue.inspection import Inspector
from gello_queue.ports import FailedJob, FailedQuery, QueueDriver

QUEUES = ["emails", "webhooks", "reports", "billing"]
KINDS = [  # job name, exception, message pattern: 8 fingerprints
    ("SendInvoice", "TimeoutError", "smtp.example.com did not answer in {n}s"),
    ("SendInvoice", "ConnectionError", "connection reset by peer after {n} bytes"),
    ("PostWebhook", "HTTPError", "500 from https://hooks.example.com/{n}"),
    ("PostWebhook", "TimeoutError", "read timed out after {n}s"),
    ("BuildReport", "KeyError", "'customer_{n}' missing"),
    ("BuildReport", "MemoryError", "needed {n} MB"),
    ("ChargeCard", "PaymentDeclined", "card {n} declined"),
    ("ChargeCard", "ValueError", "amount {n} is negative"),
]


def failures(count: int, start: float) -> list[FailedJob]:
    out = []
    for i in range(count):
        name, exc, message = KINDS[i % len(KINDS)]
        queue = QUEUES[i % len(QUEUES)]
        env = Envelope(
            id=new_id(),
            name=name,
            queue=queue,
            payload={"n": i},
            max_attempts=3,
            available_at=start,
            created_at=start,
        )
        out.append(
            FailedJob(
                env.id,
                queue,
                name,
                env.encode().decode(),
                exc,
                message.format(n=i),
                f"Traceback (most recent call last):\n  ...\n{exc}",
                start + i * 1e-3,
                3,
            )
        )
    return out


@asynccontextmanager
async def connection(url: str) -> AsyncIterator[Queue]:
    if url.startswith("redis"):
        prefix = f"gbench:{uuid.uuid4().hex}:"
        queue = Queue(url, settings=Settings(queue_prefix=prefix))
        try:
            yield queue
        finally:
            driver: Any = await queue.driver()
            keys = [k async for k in driver.redis.scan_iter(match=f"{prefix}*", count=1000)]
            for i in range(0, len(keys), 500):
                await driver.redis.unlink(*keys[i : i + 500])
            await queue.close()
        return
    if url.startswith("postgres"):
        import asyncpg

        schema = f"gbench_{uuid.uuid4().hex}"
        queue = Queue(f"{url}{'&' if '?' in url else '?'}schema={schema}")
        try:
            migrate = getattr(queue._factory(), "migrate", None)
            if migrate is not None:
                await migrate()
            yield queue
        finally:
            await queue.close()
            con = await asyncpg.connect(url.split("?")[0])
            await con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            await con.close()
        return
    queue = Queue(url)
    try:
        yield queue
    finally:
        await queue.close()


async def timed(call: Callable[[], Awaitable[Any]], runs: int = 3) -> tuple[float, Any]:
    """The median wall time of ``runs`` calls (ms), and the last result."""
    times = []
    result: Any = None
    for _ in range(runs):
        started = time.perf_counter()
        result = await call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


async def fill(driver: QueueDriver, count: int) -> float:
    started = time.perf_counter()
    rows = failures(count, time.time() - 86_400)
    for i in range(0, len(rows), 5_000):
        await driver.failed_import(rows[i : i + 5_000])
    return time.perf_counter() - started


async def deep_cursor(driver: QueueDriver, query: FailedQuery, depth: int) -> str | None:
    """A cursor ``depth`` rows into the listing (found by paging, outside the timing)."""
    cursor = None
    for _ in range(depth // 1_000):
        page = await driver.failed_search(query, limit=1_000, cursor=cursor)
        cursor = page.cursor
    return cursor


async def bench(url: str, count: int) -> None:
    async with connection(url) as queue:
        driver = await queue.driver()
        inspector = Inspector(queue)
        print(f"{url.split('?')[0]}: filling {count:,} failed jobs ...", flush=True)
        print(f"  fill (failed_import, 5,000 a call)     {await fill(driver, count):8.1f} s")

        async def measure(label: str, call: Callable[[], Awaitable[Any]], shown: str) -> Any:
            ms, result = await timed(call)
            print(f"  {label:<40}{ms:8.1f} ms  {shown.format(r=result)}", flush=True)
            return result

        none = FailedQuery(name="NoSuchJob")
        timeouts = FailedQuery(exception="timeout")
        invoices = FailedQuery(queue="emails", name="SendInvoice")
        deep = await deep_cursor(driver, timeouts, count // 8)
        await measure(
            "filter, no match (name:NoSuchJob)", lambda: driver.failed_search(none), "{r.jobs}"
        )
        await measure(
            "filter, match, first page (exc:timeout)",
            lambda: driver.failed_search(timeouts),
            "{r.jobs[0].exception}",
        )
        await measure(
            f"filter, match, page {count // 8:,} deep",
            lambda: driver.failed_search(timeouts, cursor=deep),
            "{r.jobs[0].exception}",
        )
        await measure(
            "count, everything", lambda: driver.failed_tally(FailedQuery()), "{r.count:,}"
        )
        await measure("count, exc:timeout", lambda: driver.failed_tally(timeouts), "{r.count:,}")
        await measure(
            "count, queue:emails name:SendInvoice",
            lambda: driver.failed_tally(invoices),
            "{r.count:,}",
        )
        await measure(
            "count, fp of one group", lambda: driver.failed_tally(one_group()), "{r.count:,}"
        )
        await measure(
            "groups, whole store",
            lambda: driver.failed_groups(FailedQuery()),
            "{r[0].count:,} in the biggest",
        )
        await measure(
            "free text, no match (page)",
            lambda: driver.failed_search(FailedQuery(text="no such words")),
            "complete={r.complete}",
        )
        await measure(
            'free text, count ("declined")',
            lambda: driver.failed_tally(FailedQuery(text="declined")),
            "{r.count:,} complete={r.complete}",
        )

        started = time.perf_counter()
        done = 0
        async for total in inspector.retry_matching_steps(FailedQuery()):
            done = total
        retried = time.perf_counter() - started
        print(
            f"  {'retry all (steps of 1,000)':<40}{retried:8.2f} s   {done:,} retried", flush=True
        )
        for q in QUEUES:
            await driver.clear(q)
        await fill(driver, count)
        started = time.perf_counter()
        async for total in inspector.purge_matching_steps(FailedQuery()):
            done = total
        purged = time.perf_counter() - started
        print(f"  {'purge all (steps of 1,000)':<40}{purged:8.2f} s   {done:,} purged", flush=True)


def one_group() -> FailedQuery:
    """The fingerprint of one of the eight kinds of failure."""
    name, exc, message = KINDS[6]
    return FailedQuery(fingerprint=fingerprint_of(name, exc, message.format(n=1)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--failed", type=int, default=100_000)
    args = parser.parse_args()
    asyncio.run(bench(args.url, args.failed))


if __name__ == "__main__":
    main()
