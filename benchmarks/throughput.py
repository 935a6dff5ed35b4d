"""Throughput and latency of one driver, printed with the exact settings.

    python benchmarks/throughput.py --url sqlite:///bench.db
    python benchmarks/throughput.py --url redis://127.0.0.1:6379/0
    python benchmarks/throughput.py --url postgresql://postgres@127.0.0.1/test

Measures, in order: bulk dispatch (jobs/s), single awaited dispatch (jobs/s), the blocking
twin (jobs/s), no-op jobs processed by one `gello queue:work` process at --concurrency
(jobs/s, from its own log: first to last `processed` event), and pickup latency with an
idle worker (p50/p99 of job start time minus dispatch time). The worker runs with its
default logging (JSON lines, written to a file). On PostgreSQL it ends with the server
floor (``server_floor``): the same measurements done with plain asyncpg statements, so
the figures above can be read against what the server and machine give without gello.

    python benchmarks/throughput.py --url redis://127.0.0.1:6379/0 --dispatch-only 5

measures only the two dispatch figures, five rounds on a queue of the run's own, and
prints their medians: quick enough to interleave runs of two versions on a busy machine.

    python benchmarks/throughput.py --url sqlite:///bench.db --encryption-compare 3

measures only bulk dispatch and processing with plain payloads and with every payload
encrypted (``QUEUE_ENCRYPT_ALL=true`` and a fresh ``QUEUE_ENCRYPTION_KEY``, for the
dispatching process and the worker), interleaved, three rounds of each, and prints the
medians: what encryption costs.

    python benchmarks/throughput.py --url sqlite:///bench.db --history-compare 3

measures only processing, with the completed-job history off (``QUEUE_KEEP_COMPLETED=0``)
and on (1,000 per queue), interleaved, three rounds of each, each run on a fresh queue
(its --jobs pushed in bulk first, untimed), and prints every figure and the medians. A
full run ends with one such round.

    python benchmarks/throughput.py --url postgresql://postgres@127.0.0.1/test \
        --history-finished 1000000 --history-failed 100000

first gives the tables a history, then measures as usual: that many jobs pushed in bulk
and run to completion by a `gello queue:work` process (on PostgreSQL each is a row
inserted, updated and deleted: dead tuples, index churn, vacuum), and that many records
in the failed store (`failed_import`); it prints what the tables hold before measuring
and after. On PostgreSQL, unless the URL names a `schema`, the run uses a schema of its
own and drops it at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

import orjson
from cryptography.fernet import Fernet

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from noop_app import Noop, Pickup  # noqa: E402

from gello_queue import Queue  # noqa: E402
from gello_queue.observability import redact_url  # noqa: E402
from gello_queue.ports import FailedJob  # noqa: E402

TRACEBACK = """Traceback (most recent call last):
  File "/app/.venv/lib/python3.11/site-packages/gello_queue/worker/executor.py", line 180, in _attempt
    await job.handle(payload)
  File "/app/billing/jobs.py", line 42, in handle
    invoice = await self.gateway.charge(payload.customer_id, payload.amount)
  File "/app/billing/gateway.py", line 88, in charge
    response.raise_for_status()
httpx.HTTPStatusError: Server error '503 Service Unavailable' for url 'https://payments.example.com/v2/charges'
"""


def worker_env(url: str, prefix: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(QUEUE_URL=url, QUEUE_PREFIX=prefix, PYTHONPATH=str(HERE))
    return env


def start_worker(
    url: str, prefix: str, concurrency: int, log: Path, *extra: str
) -> subprocess.Popen[bytes]:
    gello = Path(sys.executable).with_name("gello")
    cmd = [str(gello), "queue:work", "--app", "noop_app", "--concurrency", str(concurrency), *extra]
    return subprocess.Popen(
        cmd, env=worker_env(url, prefix), stdout=subprocess.DEVNULL, stderr=log.open("wb")
    )


def processed_span(*logs: Path) -> tuple[int, float]:
    stamps = []
    for log in logs:
        for line in log.read_bytes().splitlines():
            if b'"event":"processed"' in line:
                stamps.append(datetime.fromisoformat(orjson.loads(line)["timestamp"]).timestamp())
    return len(stamps), (max(stamps) - min(stamps)) if len(stamps) > 1 else 0.0


async def dispatch_figures(queue: Queue, jobs: int, singles: int) -> tuple[float, float]:
    batch = 1000
    payloads = [Noop.make(n=i) for i in range(jobs)]
    start = time.perf_counter()
    for i in range(0, jobs, batch):
        await queue.bulk(payloads[i : i + batch])
    bulk = jobs / (time.perf_counter() - start)
    print(f"bulk dispatch:        {bulk:>10,.0f} jobs/s  ({jobs} jobs, batches of {batch})")
    start = time.perf_counter()
    for i in range(singles):
        await Noop.dispatch(n=i, connection=queue)
    single = singles / (time.perf_counter() - start)
    print(f"awaited dispatch:     {single:>10,.0f} jobs/s  ({singles} jobs, one at a time)")
    return bulk, single


async def dispatch_only(queue: Queue, jobs: int, singles: int, rounds: int) -> None:
    """Dispatch figures alone, ``rounds`` times, on a queue of this run's own (emptied
    after each round), then the medians: quick enough to interleave before/after runs."""
    figures = []
    for _ in range(rounds):
        figures.append(await dispatch_figures(queue, jobs, singles))
        await (await queue.driver()).clear(queue.defaults.queue)
    bulk = statistics.median(f[0] for f in figures)
    single = statistics.median(f[1] for f in figures)
    print(f"median of {rounds}: bulk {bulk:,.0f} jobs/s, awaited {single:,.0f} jobs/s")


def blocking_figures(queue: Queue, singles: int) -> None:
    def run() -> None:
        start = time.perf_counter()
        for i in range(singles):
            Noop.dispatch_blocking(n=i, connection=queue)
        took = time.perf_counter() - start
        print(
            f"blocking dispatch:    {singles / took:>10,.0f} jobs/s  ({singles} jobs, dispatch_blocking)"
        )
        queue.close_blocking()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()


async def wait_empty(queue: Queue, deadline_s: float) -> None:
    driver = await queue.driver()
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        counts = await driver.counts()
        if all(c.total == 0 for c in counts.values()):
            return
        await asyncio.sleep(0.05)
    raise SystemExit("benchmark: queue did not drain in time")


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


async def make_history(
    queue: Queue, url: str, prefix: str, finished: int, failed: int, concurrency: int, tmp: Path
) -> None:
    """``finished`` jobs pushed in bulk and run to completion by a worker process, then
    ``failed`` realistic records in the failed store."""
    batch = 1000
    start = time.perf_counter()
    for i in range(0, finished, batch):
        await queue.bulk([Noop.make(n=n) for n in range(i, min(i + batch, finished))])
    pushed = time.perf_counter() - start
    log = tmp / "history.log"
    start = time.perf_counter()
    worker = start_worker(
        url, prefix, concurrency, log, "--stop-when-empty", "--log-level", "warning"
    )
    if worker.wait(timeout=3600) != 0:
        raise SystemExit(f"benchmark: history worker failed, see {log}")
    ran = time.perf_counter() - start
    print(
        f"history: {finished:,} jobs pushed in {pushed:.1f} s, run to completion in {ran:.1f} s"
        f" ({finished / ran:,.0f} jobs/s including start-up)"
    )
    driver = await queue.driver()
    now = time.time()
    start = time.perf_counter()
    stored = 0
    for i in range(0, failed, batch):
        records = []
        for n in range(i, min(i + batch, failed)):
            env = Noop.make(n=n).to_envelope(queue.defaults, now - 86400).with_changes(attempts=3)
            records.append(
                FailedJob(
                    id=env.id,
                    queue=env.queue,
                    name=env.name,
                    body=env.encode().decode(),
                    exception="HTTPStatusError",
                    message="Server error '503 Service Unavailable' for url 'https://payments.example.com/v2/charges'",
                    traceback=TRACEBACK,
                    failed_at=now - 86400 + 86400 * n / failed,
                    attempts=3,
                )
            )
        stored += await driver.failed_import(records)
    print(f"history: {stored:,} failed jobs stored in {time.perf_counter() - start:.1f} s")


async def report_tables(queue: Queue, url: str, when: str) -> None:
    """Rows in the jobs and failed tables; on PostgreSQL also their size and dead tuples."""
    driver = await queue.driver()
    jobs = sum(c.total for c in (await driver.counts()).values())
    print(f"tables {when}: {jobs:,} jobs, {await driver.failed_count():,} failed")
    if not is_postgres(url):
        return
    # Closed, so its server sessions exit and flush their counts to pg_stat_user_tables;
    # the queue opens again on its next use.
    await queue.close()
    await asyncio.sleep(0.5)
    import asyncpg

    from gello_queue.drivers.postgres import PostgresDriver

    pg = PostgresDriver(url)
    con = await asyncpg.connect(pg.url)
    rows = await con.fetch(
        "SELECT relname, pg_total_relation_size(relid) AS size, n_dead_tup,"
        " n_tup_ins, n_tup_del, vacuum_count FROM pg_stat_user_tables"
        " WHERE schemaname = $1 AND relname = ANY($2::text[]) ORDER BY relname DESC",
        pg.schema,
        [pg.table_prefix + "jobs", pg.table_prefix + "failed_jobs"],
    )
    await con.close()
    for r in rows:
        print(
            f"  {pg.schema}.{r['relname']}: {r['size'] / 2**20:,.1f} MB with indexes,"
            f" {r['n_dead_tup']:,} dead tuples,"
            f" {r['n_tup_ins']:,} inserted / {r['n_tup_del']:,} deleted, vacuumed {r['vacuum_count']}x"
        )


async def server_floor(url: str, singles: int, samples: int) -> None:
    """What the server and machine give without gello, on plain asyncpg connections:
    autocommit INSERTs (each waits for its WAL flush, as a dispatch does) one at a time;
    then, spaced 10 ms apart like the pickup samples, ``SELECT 1``, an INSERT, and the
    smallest pickup a PostgreSQL queue can do: INSERT with NOTIFY, the notification heard
    on a LISTEN connection, and an ``UPDATE ... FOR UPDATE SKIP LOCKED`` that takes the row
    on a third connection (time from before the INSERT to the UPDATE's answer)."""
    import asyncpg

    from gello_queue.drivers.postgres import PostgresDriver

    pg = PostgresDriver(url)
    name = f"gbench_floor_{uuid.uuid4().hex[:8]}"
    table = f'"{pg.schema}"."{name}"'
    con, listener, taker = [await asyncpg.connect(pg.url) for _ in range(3)]
    heard: asyncio.Queue[str] = asyncio.Queue()
    try:
        await con.execute(
            f"CREATE TABLE {table} (id bigserial PRIMARY KEY, body text, taken bool DEFAULT false)"
        )
        await listener.add_listener(name, lambda *note: heard.put_nowait(note[3]))
        insert = f"INSERT INTO {table} (body) VALUES ($1)"
        notify = f"WITH i AS ({insert} RETURNING id) SELECT pg_notify('{name}', id::text) FROM i"
        take = (
            f"UPDATE {table} SET taken = true WHERE id = (SELECT id FROM {table}"
            " WHERE NOT taken ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id"
        )
        body = "x" * 200

        async def pickup() -> None:
            await con.execute(notify, body)
            await heard.get()
            await taker.fetchval(take)

        start = time.perf_counter()
        for _ in range(singles):
            await con.execute(insert, body)
        rate = singles / (time.perf_counter() - start)
        steps = {
            "SELECT 1": lambda: con.fetchval("SELECT 1"),
            "INSERT": lambda: con.execute(insert, body),
            "INSERT+NOTIFY, LISTEN, UPDATE SKIP LOCKED": pickup,
        }
        spaced: dict[str, list[float]] = {step: [] for step in steps}
        for _ in range(samples):
            for step, run_one in steps.items():
                await asyncio.sleep(0.01)
                began = time.perf_counter()
                await run_one()
                spaced[step].append((time.perf_counter() - began) * 1000)
        await con.execute(f"DROP TABLE {table}")
    finally:
        for each in (con, listener, taker):
            await each.close()
    print(
        f"server floor:         {rate:>10,.0f} autocommit INSERTs/s one at a time (plain asyncpg, no gello)"
    )
    for step, took in spaced.items():
        took.sort()
        p99 = took[min(len(took) - 1, int(len(took) * 0.99))]
        print(
            f"server floor:         p50 {statistics.median(took):.2f} ms, p99 {p99:.2f} ms  ({step}, {samples} times, 10 ms apart)"
        )


async def own_schema(url: str) -> tuple[str, str | None]:
    """On PostgreSQL without a ``schema`` in the URL: the URL with a schema of this run's
    own, and its name, to drop at the end. The schema is migrated either way."""
    if not is_postgres(url):
        return url, None
    from gello_queue.drivers.postgres import PostgresDriver

    schema = None
    if "schema=" not in url:
        schema = f"gbench_{uuid.uuid4().hex[:8]}"
        url = f"{url}{'&' if '?' in url else '?'}schema={schema}"
    await PostgresDriver(url).migrate()
    return url, schema


async def drop_schema(url: str, schema: str | None) -> None:
    if schema is None:
        return
    import asyncpg

    from gello_queue.drivers.postgres import PostgresDriver

    con = await asyncpg.connect(PostgresDriver(url).url)
    await con.execute(f'DROP SCHEMA "{schema}" CASCADE')
    await con.close()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", required=True)
    parser.add_argument(
        "--jobs", type=int, default=20000, help="jobs for bulk dispatch and processing"
    )
    parser.add_argument("--singles", type=int, default=3000, help="jobs for one-at-a-time dispatch")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency-samples", type=int, default=300)
    parser.add_argument(
        "--processes", type=int, default=1, help="worker processes sharing the processing run"
    )
    parser.add_argument(
        "--dispatch-only",
        type=int,
        default=0,
        metavar="ROUNDS",
        help="measure only bulk and awaited dispatch, this many rounds, and print medians",
    )
    parser.add_argument(
        "--history-compare",
        type=int,
        default=0,
        metavar="ROUNDS",
        help="measure only processing with the completed-job history off and on, interleaved",
    )
    parser.add_argument(
        "--encryption-compare",
        type=int,
        default=0,
        metavar="ROUNDS",
        help="measure only bulk dispatch and processing, plain and encrypted, interleaved",
    )
    parser.add_argument(
        "--history-finished",
        type=int,
        default=0,
        metavar="N",
        help="first run N jobs to completion through the tables (a history)",
    )
    parser.add_argument(
        "--history-failed",
        type=int,
        default=0,
        metavar="M",
        help="first store M failed jobs in the failed store (a history)",
    )
    args = parser.parse_args()
    url, schema = await own_schema(args.url)
    try:
        await run(args, url)
    finally:
        await drop_schema(url, schema)


async def run(args: argparse.Namespace, url: str) -> None:
    prefix = f"gbench:{uuid.uuid4().hex[:8]}:"
    os.environ.update(QUEUE_URL=url, QUEUE_PREFIX=prefix)
    if args.history_failed:
        # Workers keep the newest QUEUE_FAILED_MAX failed jobs (10,000 by default): a
        # failed store this large is one configured to keep them.
        os.environ["QUEUE_FAILED_MAX"] = str(max(10000, args.history_failed))
    if args.dispatch_only:
        # A queue of this run's own: clearing it never touches another run's jobs.
        os.environ["QUEUE_DEFAULT"] = f"bench-{prefix.split(':')[1]}"
        queue = Queue(url)
        await dispatch_only(queue, args.jobs, args.singles, args.dispatch_only)
        await queue.close()
        await forget(url, prefix)
        return
    tmp = Path(tempfile.mkdtemp(prefix="gello-bench-"))
    queue = Queue(url)
    print(f"driver: {redact_url(url)}  prefix: {prefix}  python {sys.version.split()[0]}")
    if args.encryption_compare:
        await encryption_compare(url, prefix, args, tmp, args.encryption_compare)
        await queue.close()
        await forget(url, prefix)
        return
    if args.history_compare:
        await history_compare(queue, url, prefix, args, tmp, args.history_compare)
        await queue.close()
        await forget(url, prefix)
        return
    print(
        f"worker: {args.processes} process(es), --concurrency {args.concurrency}, default logging (JSON to a file)"
    )

    history = args.history_finished or args.history_failed
    if history:
        await make_history(
            queue, url, prefix, args.history_finished, args.history_failed, args.concurrency, tmp
        )
        await report_tables(queue, url, "before measuring")

    await dispatch_figures(queue, args.jobs, args.singles)
    # A queue of its own, never opened on this loop: a script's blocking calls run on the
    # background loop, which is what this figure measures. (Blocking calls on a queue this
    # loop holds would wait for this loop, which joins the thread below.)
    blocking_figures(Queue(url), args.singles)
    total = args.jobs + 2 * args.singles

    logs = [tmp / f"worker{i}.log" for i in range(args.processes)]
    procs = [start_worker(url, prefix, args.concurrency, log, "--stop-when-empty") for log in logs]
    for proc in procs:
        proc.wait(timeout=600)
    count, span = processed_span(*logs)
    if count != total:
        print(f"warning: worker logged {count} processed jobs, expected {total}")
    print(
        f"processing:           {count / span:>10,.0f} jobs/s  ({count} no-op jobs, {args.processes} x concurrency {args.concurrency})"
    )

    latency_file = tmp / "latency.txt"
    os.environ["GELLO_BENCH_LATENCY_FILE"] = str(latency_file)
    log2 = tmp / "idle.log"
    idle = start_worker(url, prefix, args.concurrency, log2)
    # The worker is idle once it has announced itself; then send one job at a time.
    deadline = time.monotonic() + 30
    while b"worker_running" not in (log2.read_bytes() if log2.exists() else b""):
        if time.monotonic() > deadline:
            raise SystemExit("benchmark: idle worker did not start")
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    for _ in range(args.latency_samples):
        await Pickup.dispatch(sent_at=time.time(), connection=queue)
        await asyncio.sleep(0.01)
    await wait_empty(queue, 60)
    idle.terminate()
    idle.wait(timeout=60)
    samples = sorted(float(x) * 1000 for x in latency_file.read_text().split())
    p50 = statistics.median(samples)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    print(
        f"pickup latency:       p50 {p50:.2f} ms, p99 {p99:.2f} ms  ({len(samples)} jobs, idle worker)"
    )
    if history:
        await report_tables(queue, url, "after measuring")
    await history_compare(queue, url, prefix, args, tmp, 1)
    if is_postgres(url):
        await server_floor(url, args.singles, args.latency_samples)
    await queue.close()
    await forget(url, prefix)


HISTORY_MODES = {"off": "0", "on": "1000"}
"""``QUEUE_KEEP_COMPLETED`` for each mode of the history comparison."""


async def processing_on_fresh_queue(
    queue: Queue, url: str, prefix: str, args: argparse.Namespace, log: Path, keep: str
) -> float:
    """Jobs/s of one worker run draining --jobs no-op jobs from a queue of its own, with
    ``QUEUE_KEEP_COMPLETED=keep``."""
    name = f"bench-{uuid.uuid4().hex[:8]}"
    payloads = [Noop.make(n=i).on_queue(name) for i in range(args.jobs)]
    for i in range(0, args.jobs, 1000):
        await queue.bulk(payloads[i : i + 1000])
    os.environ["QUEUE_KEEP_COMPLETED"] = keep
    try:
        proc = start_worker(
            url, prefix, args.concurrency, log, "--queue", name, "--stop-when-empty"
        )
    finally:
        del os.environ["QUEUE_KEEP_COMPLETED"]
    proc.wait(timeout=600)
    count, span = processed_span(log)
    if count != args.jobs:
        print(f"warning: worker logged {count} processed jobs, expected {args.jobs}")
    return count / span


async def history_compare(
    queue: Queue, url: str, prefix: str, args: argparse.Namespace, tmp: Path, rounds: int
) -> None:
    """Processing with the completed-job history off and on, interleaved (the order
    swapped every round, so a drift of the machine does not favour one mode)."""
    figures: dict[str, list[float]] = {mode: [] for mode in HISTORY_MODES}
    for r in range(rounds):
        order = list(HISTORY_MODES) if r % 2 == 0 else list(HISTORY_MODES)[::-1]
        for mode in order:
            log = tmp / f"history-{mode}-{r}.log"
            rate = await processing_on_fresh_queue(
                queue, url, prefix, args, log, HISTORY_MODES[mode]
            )
            figures[mode].append(rate)
            print(
                f"processing, history {mode + ':':<4} {rate:>10,.0f} jobs/s  ({args.jobs} no-op jobs, concurrency {args.concurrency}, QUEUE_KEEP_COMPLETED={HISTORY_MODES[mode]})"
            )
    off, on = (statistics.median(figures[m]) for m in ("off", "on"))
    print(
        f"history median of {rounds}: off {off:,.0f} jobs/s, on {on:,.0f} jobs/s ({(on / off - 1) * 100:+.1f} %)"
    )


ENCRYPTION_MODES = ("plain", "encrypted")


async def encryption_compare(
    url: str, prefix: str, args: argparse.Namespace, tmp: Path, rounds: int
) -> None:
    """Bulk dispatch and processing with plain and with encrypted payloads, interleaved
    (the order swapped every round), each run on a queue of its own."""
    key = Fernet.generate_key().decode()
    figures: dict[str, list[tuple[float, float]]] = {mode: [] for mode in ENCRYPTION_MODES}
    for r in range(rounds):
        for mode in ENCRYPTION_MODES if r % 2 == 0 else ENCRYPTION_MODES[::-1]:
            settings = (
                {"QUEUE_ENCRYPT_ALL": "true", "QUEUE_ENCRYPTION_KEY": key}
                if mode == "encrypted"
                else {}
            )
            os.environ.update(settings)  # read by this run's Queue and by its worker
            try:
                queue = Queue(url)
                name = f"bench-{uuid.uuid4().hex[:8]}"
                payloads = [Noop.make(n=i).on_queue(name) for i in range(args.jobs)]
                start = time.perf_counter()
                for i in range(0, args.jobs, 1000):
                    await queue.bulk(payloads[i : i + 1000])
                dispatched = args.jobs / (time.perf_counter() - start)
                await queue.close()
                log = tmp / f"encryption-{mode}-{r}.log"
                proc = start_worker(
                    url, prefix, args.concurrency, log, "--queue", name, "--stop-when-empty"
                )
            finally:
                for setting in settings:
                    del os.environ[setting]
            proc.wait(timeout=600)
            count, span = processed_span(log)
            if count != args.jobs:
                print(f"warning: worker logged {count} processed jobs, expected {args.jobs}")
            figures[mode].append((dispatched, count / span))
            print(
                f"{mode + ':':<10} bulk dispatch {dispatched:>9,.0f} jobs/s, processing {count / span:>9,.0f} jobs/s  ({args.jobs} no-op jobs, concurrency {args.concurrency})"
            )
    medians = {
        mode: tuple(statistics.median(f[i] for f in figures[mode]) for i in (0, 1))
        for mode in ENCRYPTION_MODES
    }
    (plain_d, plain_p), (enc_d, enc_p) = medians["plain"], medians["encrypted"]
    print(
        f"encryption median of {rounds}: bulk dispatch {plain_d:,.0f} -> {enc_d:,.0f} jobs/s ({(enc_d / plain_d - 1) * 100:+.1f} %), processing {plain_p:,.0f} -> {enc_p:,.0f} jobs/s ({(enc_p / plain_p - 1) * 100:+.1f} %)"
    )


async def forget(url: str, prefix: str) -> None:
    """Delete the keys this run wrote to a shared Redis (its prefix only)."""
    if not url.startswith(("redis://", "rediss://")):
        return
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    async for key in client.scan_iter(match=f"{prefix}*", count=1000):
        await client.unlink(key)
    await client.aclose()


if __name__ == "__main__":
    asyncio.run(main())
