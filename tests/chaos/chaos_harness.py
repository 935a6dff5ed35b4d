"""Real worker processes against every persistent backend, each isolated per test."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from backends.postgres import POSTGRES_URL
from backends.rabbitmq import RABBITMQ_URL
from backends.rabbitmq import delete_queues as _delete_rabbitmq_queues
from backends.redis import REDIS_URL
from backends.sqs import CREDENTIALS as SQS_CREDENTIALS
from backends.sqs import chaos_url as sqs_chaos_url
from backends.sqs import delete_queues as _delete_sqs_queues

HERE = Path(__file__).resolve().parent
GELLO = str(Path(sys.executable).with_name("gello"))


@dataclass
class Backend:
    """One isolated backend and the `gello` processes that share it."""

    name: str
    url: str
    env: dict[str, str]
    ledger: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        out = subprocess.run(
            [GELLO, *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )
        assert out.returncode == 0, f"gello {' '.join(args)}: {out.stderr}"
        return out

    def spawn(self, *args: str) -> subprocess.Popen[bytes]:
        """Start ``gello *args``; its log goes to ``worker-N.log`` beside the ledger (what
        a failed run left behind: ``rescued``, ``lease_lost`` and each job's lines)."""
        with open(self.ledger.parent / f"worker-{len(self.procs)}.log", "wb") as log:
            proc = subprocess.Popen(
                [GELLO, *args], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        self.procs.append(proc)
        return proc

    def deaths(self) -> str:
        """Each spawned process that has ended, with the last lines of its log: what a
        failed assertion about a dead worker shows."""
        ended = []
        for index, proc in enumerate(self.procs):
            if proc.poll() is None:
                continue
            log = self.ledger.parent / f"worker-{index}.log"
            tail = log.read_text(errors="replace").splitlines()[-15:] if log.exists() else []
            ended.append(f"pid {proc.pid} exited {proc.returncode}:\n" + "\n".join(tail))
        return "\n".join(ended)

    def entries(self) -> list[tuple[str, str, int]]:
        """Ledger lines as (kind, job key, pid)."""
        if not self.ledger.exists():
            return []
        rows = []
        for line in self.ledger.read_text().splitlines():
            kind, key, pid = line.split()
            rows.append((kind, key, int(pid)))
        return rows


def alive(pids: set[int]) -> set[int]:
    """The processes among ``pids`` that still run (a zombie has ended)."""
    running = set()
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                running.add(pid)
        except psutil.NoSuchProcess:
            continue
    return running


def descendants(pid: int) -> set[int]:
    """Every process started, directly or not, by ``pid``."""
    try:
        return {child.pid for child in psutil.Process(pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


def _drop_schema(schema: str) -> None:
    import asyncpg

    async def drop() -> None:
        con = await asyncpg.connect(POSTGRES_URL)
        try:
            await con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await con.close()

    asyncio.run(drop())


def _drop_prefix(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    for i in range(0, len(keys), 500):
        client.unlink(*keys[i : i + 500])
    client.close()


@contextmanager
def isolated_backend(name: str, tmp_path: Path) -> Iterator[Backend]:
    """A backend of kind ``name`` (sqlite, postgres, redis, rabbitmq, sqs) used by nothing
    else."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("QUEUE_", "DATABASE_", "REDIS_"))
    }
    token = uuid.uuid4().hex[:12]
    if name == "sqlite":
        url = f"sqlite:///{tmp_path / 'queue.db'}"
    elif name == "postgres":
        url = f"{POSTGRES_URL}?schema=gchaos_{token}"
    elif name == "rabbitmq":
        # The broker holds the queues; failed jobs and heartbeats live in an SQLite store.
        url = f"{RABBITMQ_URL}?store=sqlite:///{tmp_path / 'store.db'}"
        env["QUEUE_PREFIX"] = f"gchaos.{token}."
    elif name == "sqs":
        # moto's server on loopback; failed jobs and heartbeats in an SQLite store.
        url = sqs_chaos_url(tmp_path / "store.db")
        env["QUEUE_PREFIX"] = f"gchaos-{token}-"
        env.update(SQS_CREDENTIALS)
    else:
        url = REDIS_URL
        env["QUEUE_PREFIX"] = f"gchaos:{token}:"
    env.update(
        QUEUE_URL=url,
        PYTHONPATH=str(HERE.parent / "cli"),
        GELLO_APP="app_jobs",
        GELLO_TEST_LEDGER=str(tmp_path / "ledger.txt"),
        GELLO_TEST_FLAG=str(tmp_path / "flag"),
        # moto answers a receive or a visibility change in up to 1.5 s on a loaded
        # machine: a 2 s lease renewed every 0.67 s then lapses with no worker killed.
        QUEUE_LEASE="5" if name == "sqs" else "2",
    )
    found = Backend(name, url, env, tmp_path / "ledger.txt")
    if name == "postgres":
        found.run("queue:migrate")
    try:
        yield found
    finally:
        for proc in found.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        if name == "postgres":
            _drop_schema(f"gchaos_{token}")
        elif name == "redis":
            _drop_prefix(env["QUEUE_PREFIX"])
        elif name == "rabbitmq":
            _delete_rabbitmq_queues(env["QUEUE_PREFIX"])
        elif name == "sqs":
            _delete_sqs_queues(env["QUEUE_PREFIX"])
