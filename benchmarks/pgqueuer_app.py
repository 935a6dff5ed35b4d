"""The PgQueuer side of ``pgqueuer_postgres.py``: its worker, and the factory it runs.

    python benchmarks/pgqueuer_app.py --batch-size 10

does what ``pgqueuer run pgqueuer_app:create --batch-size 10`` does (PgQueuer's logging
at its default level, INFO; its event loop choice, uvloop when installed; ``pgqueuer.run``
on the factory, which stops on SIGTERM). The CLI command itself stops at its
``--log-level`` option under typer 0.29, the version gello's ``typer>=0.12`` installs
today: the option reaches PgQueuer as a string, not a ``LogLevel``.

PgQueuer is installed for the benchmark only (``pip install pgqueuer``); it is not a gello
dependency. Configured from the environment by the benchmark script: the database
(``PGQBENCH_DSN``), the run's schema and NOTIFY channel (``PGQUEUER_SCHEMA``,
``PGQUEUER_CHANNEL``, read by PgQueuer itself), the per-entrypoint ``concurrency_limit``
(``PGQBENCH_CONCURRENCY``) and the files the handlers append to.

Three entrypoints: ``noop`` appends its start and end time to ``PGQBENCH_SPAN_FILE`` and,
after ``PGQBENCH_TARGET`` jobs, flushes that file and stops the worker; ``pickup`` appends
(start time - send time) to ``PGQBENCH_LATENCY_FILE``; ``ready`` touches
``PGQBENCH_READY_FILE``, which tells the benchmark the worker is dequeueing and listening.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import orjson
import pgqueuer
from pgqueuer import AsyncpgDriver, Job, PgQueuer
from pgqueuer.adapters.cli.cli import asyncio_run
from pgqueuer.core import logconfig


@asynccontextmanager
async def create() -> AsyncIterator[PgQueuer]:
    env = os.environ
    connection = await asyncpg.connect(
        env["PGQBENCH_DSN"], server_settings={"search_path": env["PGQUEUER_SCHEMA"]}
    )
    pgq = PgQueuer(AsyncpgDriver(connection))
    limit = int(env["PGQBENCH_CONCURRENCY"])
    target = int(env.get("PGQBENCH_TARGET", "0"))
    spans = open(env["PGQBENCH_SPAN_FILE"], "a") if target else None  # noqa: SIM115
    done = 0

    @pgq.entrypoint("noop", concurrency_limit=limit)
    async def noop(job: Job) -> None:
        nonlocal done
        start = time.time()
        orjson.loads(job.payload or b"{}")
        if spans is None:
            return
        spans.write(f"{start} {time.time()}\n")
        done += 1
        if done == target:
            spans.close()
            pgq.shutdown.set()

    @pgq.entrypoint("pickup", concurrency_limit=limit)
    async def pickup(job: Job) -> None:
        latency = time.time() - orjson.loads(job.payload or b"{}")["sent_at"]
        with open(env["PGQBENCH_LATENCY_FILE"], "a") as out:
            out.write(f"{latency}\n")

    @pgq.entrypoint("ready", concurrency_limit=limit)
    async def ready(job: Job) -> None:
        with open(env["PGQBENCH_READY_FILE"], "a"):
            pass

    try:
        yield pgq
    finally:
        if spans is not None and not spans.closed:
            spans.close()
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch-size", type=int, default=10)
    args = parser.parse_args()
    logconfig.setup_fancy_logger(logconfig.LogLevel.INFO)
    asyncio_run(pgqueuer.run(create, batch_size=args.batch_size))


if __name__ == "__main__":
    main()
