"""Real `gello` processes on an isolated SQLite, PostgreSQL or Redis backend, with the
orchestration test app (``orch_app``) loaded."""

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

from backends.postgres import POSTGRES_URL
from backends.redis import REDIS_URL

HERE = Path(__file__).resolve().parent
GELLO = str(Path(sys.executable).with_name("gello"))
PERSISTENT = ["postgres", "redis", "sqlite"]


@dataclass
class Stack:
    """One isolated backend and the processes that share it."""

    name: str
    url: str
    env: dict[str, str]
    ledger: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def run(self, *args: str, timeout: float = 60) -> str:
        out = subprocess.run(
            [GELLO, *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )
        assert out.returncode == 0, f"gello {' '.join(args)} exited {out.returncode}: {out.stderr}"
        return out.stdout

    def spawn(self, *args: str, log: Path | None = None) -> subprocess.Popen[bytes]:
        err = log.open("wb") if log is not None else subprocess.DEVNULL
        proc = subprocess.Popen([GELLO, *args], env=self.env, stdout=subprocess.DEVNULL, stderr=err)
        self.procs.append(proc)
        return proc

    def lines(self, kind: str | None = None) -> list[str]:
        """Ledger entries (``kind key``), optionally of one kind, as keys."""
        if not self.ledger.exists():
            return []
        rows = [line.split() for line in self.ledger.read_text().splitlines() if line]
        return [r[1] for r in rows if kind is None or r[0] == kind]

    def queue(self) -> object:
        from gello_queue import Queue, Settings

        settings = Settings(QUEUE_PREFIX=self.env.get("QUEUE_PREFIX", "gello:"))  # type: ignore[call-arg]
        return Queue(self.url, settings=settings)


@contextmanager
def stack(name: str, tmp_path: Path) -> Iterator[Stack]:
    """A backend of kind ``name`` used by nothing else; dropped afterwards."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("QUEUE_", "DATABASE_", "REDIS_"))
    }
    token = uuid.uuid4().hex[:12]
    if name == "sqlite":
        url = f"sqlite:///{tmp_path / 'queue.db'}"
    elif name == "postgres":
        url = f"{POSTGRES_URL}?schema=gorch_{token}"
    else:
        url = REDIS_URL
        env["QUEUE_PREFIX"] = f"gorch:{token}:"
    env.update(
        QUEUE_URL=url,
        PYTHONPATH=str(HERE),
        GELLO_APP="orch_app",
        GELLO_TEST_LEDGER=str(tmp_path / "ledger.txt"),
        GELLO_TEST_FLAG=str(tmp_path / "flag"),
        QUEUE_LEASE="2",
    )
    found = Stack(name, url, env, tmp_path / "ledger.txt")
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
            asyncio.run(_drop_schema(f"gorch_{token}"))
        elif name == "redis":
            _drop_prefix(env["QUEUE_PREFIX"])


async def _drop_schema(schema: str) -> None:
    import asyncpg

    con = await asyncpg.connect(POSTGRES_URL)
    try:
        await con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await con.close()


def _drop_prefix(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    for i in range(0, len(keys), 500):
        client.unlink(*keys[i : i + 500])
    client.close()
