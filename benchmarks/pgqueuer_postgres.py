"""gello and PgQueuer on the same PostgreSQL, in the same run, with the same figures.

    python benchmarks/pgqueuer_postgres.py [--url postgresql://postgres@127.0.0.1:5432/test]

First gello (``benchmarks/throughput.py`` on the URL), then PgQueuer (``pip install
pgqueuer``; not a gello dependency) on the same database, in a schema of the run's own
(``pgqbench_<hex>``, PgQueuer's tables installed there with ``Queries.install``, dropped
at the end) and a NOTIFY channel of the same name: bulk dispatch (``Queries.enqueue``
with lists, one call per batch), awaited dispatch (one ``enqueue`` at a time), no-op jobs
processed by one worker process (``benchmarks/pgqueuer_app.py``, run as ``pgqueuer run``
runs it: ``pgqueuer.run``, on uvloop when installed) with PgQueuer's defaults (no
``concurrency_limit``: that limit is counted in the database across all workers, and a
finished job holds its slot until its buffered status write, which caps a limit of 16 at
about 1,000 jobs/s here; ``--pgqueuer-limit`` sets it) (span from the first job start to the last job
end, from the worker's own clock; the worker stops itself at the count), and pickup
latency with an idle worker (job start time minus send time). The worker logs at
PgQueuer's default level, to a file.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import asyncpg
import orjson

HERE = Path(__file__).resolve().parent


def start_worker(env: dict[str, str], batch_size: int, log: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, str(HERE / "pgqueuer_app.py"), "--batch-size", str(batch_size)]
    out = log.open("wb")
    return subprocess.Popen(cmd, env=env, cwd=HERE, stdout=out, stderr=out)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
    proc.wait(timeout=60)


async def wait_for(
    condition: Callable[[], bool], proc: subprocess.Popen[bytes], deadline_s: float, what: str
) -> None:
    """Poll ``condition`` until true; fail if the worker exits first or time runs out."""
    end = time.monotonic() + deadline_s
    while not condition():
        if proc.poll() is not None:
            raise SystemExit(f"benchmark: worker exited ({proc.returncode}) before {what}")
        if time.monotonic() > end:
            raise SystemExit(f"benchmark: {what} took over {deadline_s:.0f} s")
        await asyncio.sleep(0.05)


def lines(path: Path) -> int:
    return path.read_text().count("\n") if path.exists() else 0


async def pgqueuer_figures(
    args: argparse.Namespace, connection: asyncpg.Connection, schema: str, tmp: Path
) -> None:
    import pgqueuer
    from pgqueuer import AsyncpgDriver, Queries

    queries = Queries(AsyncpgDriver(connection))
    await queries.install(create_schema=False)
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    print(
        f"pgqueuer {pgqueuer.__version__}: schema {schema}, channel {schema}, python {sys.version.split()[0]}"
    )
    print(
        f"worker: 1 process (pgqueuer.run, {loop}), concurrency_limit {args.pgqueuer_limit or 'none'},"
        f" batch_size {args.batch_size}, default logging (to a file)"
    )

    batch = 1000
    payloads = [orjson.dumps({"n": i}) for i in range(args.jobs)]
    names = ["noop"] * args.jobs
    priorities = [0] * args.jobs
    start = time.perf_counter()
    for i in range(0, args.jobs, batch):
        await queries.enqueue(
            names[i : i + batch], payloads[i : i + batch], priorities[i : i + batch]
        )
    bulk = args.jobs / (time.perf_counter() - start)
    print(
        f"bulk dispatch:        {bulk:>10,.0f} jobs/s  ({args.jobs} jobs, batches of {batch}, enqueue with lists)"
    )
    start = time.perf_counter()
    for i in range(args.singles):
        await queries.enqueue("noop", orjson.dumps({"n": i}))
    single = args.singles / (time.perf_counter() - start)
    print(f"awaited dispatch:     {single:>10,.0f} jobs/s  ({args.singles} jobs, one at a time)")
    total = args.jobs + args.singles

    env = dict(os.environ)
    env.update(
        PGQBENCH_DSN=args.url,
        PGQBENCH_CONCURRENCY=str(args.pgqueuer_limit),
        PGQBENCH_SPAN_FILE=str(tmp / "spans.txt"),
        PGQBENCH_LATENCY_FILE=str(tmp / "latency.txt"),
        PGQBENCH_READY_FILE=str(tmp / "ready"),
        PYTHONPATH=str(HERE),
    )
    spans = tmp / "spans.txt"
    worker = start_worker({**env, "PGQBENCH_TARGET": str(total)}, args.batch_size, tmp / "w.log")
    try:
        await wait_for(lambda: worker.poll() == 0, worker, 600, "the count")
    finally:
        stop(worker)
    stamps = [tuple(map(float, line.split())) for line in spans.read_text().splitlines()]
    count = len(stamps)
    span = max(s[1] for s in stamps) - min(s[0] for s in stamps)
    if count != total:
        print(f"warning: worker recorded {count} processed jobs, expected {total}")
    print(
        f"processing:           {count / span:>10,.0f} jobs/s  ({count} no-op jobs, 1 x concurrency_limit {args.pgqueuer_limit or 'none'}, batch_size {args.batch_size})"
    )

    latency = tmp / "latency.txt"
    ready = tmp / "ready"
    idle = start_worker(env, args.batch_size, tmp / "idle.log")
    try:
        # Idle once it has run a probe job: dequeueing, and listening for new jobs.
        await queries.enqueue("ready", None)
        await wait_for(ready.exists, idle, 30, "the idle worker was ready")
        await asyncio.sleep(0.5)
        for _ in range(args.latency_samples):
            await queries.enqueue("pickup", orjson.dumps({"sent_at": time.time()}))
            await asyncio.sleep(0.01)
        await wait_for(
            lambda: lines(latency) >= args.latency_samples, idle, 60, "the pickup samples"
        )
    finally:
        stop(idle)
    samples = sorted(float(x) * 1000 for x in latency.read_text().split())
    p50 = statistics.median(samples)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    print(
        f"pickup latency:       p50 {p50:.2f} ms, p99 {p99:.2f} ms  ({len(samples)} jobs, idle worker)"
    )


async def pgqueuer_run(args: argparse.Namespace) -> None:
    schema = f"pgqbench_{uuid.uuid4().hex[:8]}"
    # Read by PgQueuer here and in the worker: objects qualified with the run's schema,
    # and a NOTIFY channel of the run's own (channels are database-wide).
    os.environ.update(PGQUEUER_SCHEMA=schema, PGQUEUER_CHANNEL=schema)
    from pgqueuer.domain.settings import db_settings

    db_settings.cache_clear()
    tmp = Path(tempfile.mkdtemp(prefix="pgqueuer-bench-"))
    admin = await asyncpg.connect(args.url)
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        connection = await asyncpg.connect(args.url, server_settings={"search_path": schema})
        try:
            await pgqueuer_figures(args, connection, schema, tmp)
        finally:
            await connection.close()
    finally:
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument(
        "--jobs", type=int, default=20000, help="jobs for bulk dispatch and processing"
    )
    parser.add_argument("--singles", type=int, default=3000, help="jobs for one-at-a-time dispatch")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=16,
        help="gello's --concurrency",
    )
    parser.add_argument(
        "--pgqueuer-limit",
        type=int,
        default=0,
        help="PgQueuer's concurrency_limit per entrypoint (its default, 0: none)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=10, help="PgQueuer's dequeue batch (its default: 10)"
    )
    parser.add_argument("--latency-samples", type=int, default=300)
    args = parser.parse_args()
    print("== gello ==", flush=True)
    subprocess.run(
        [sys.executable, str(HERE / "throughput.py"), "--url", args.url, "--jobs", str(args.jobs),
         "--singles", str(args.singles), "--concurrency", str(args.concurrency),
         "--latency-samples", str(args.latency_samples)],
        check=True,
    )  # fmt: skip
    print("== pgqueuer ==", flush=True)
    asyncio.run(pgqueuer_run(args))


if __name__ == "__main__":
    main()
