"""The application module of the orchestration end-to-end tests (``GELLO_APP=orch_app``).

Every run is appended to a ledger file (GELLO_TEST_LEDGER), outside the queue, so tests
count runs per key.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from gello_queue import Job, schedule
from gello_queue.middleware import RateLimited


class Work(BaseModel):
    key: str
    fail_until_flag: bool = False
    die_once_after: bool = False


def record(kind: str, key: str) -> None:
    with open(os.environ["GELLO_TEST_LEDGER"], "a") as ledger:
        ledger.write(f"{kind} {key} {os.getpid()}\n")


class Step(Job[Work]):
    """Records its key; can fail until the flag file exists (a bug fixed by a deploy),
    or kill its worker once right after it succeeded (before the ack and the next link)."""

    tries = 1

    async def handle(self, payload: Work) -> None:
        if payload.fail_until_flag and not os.path.exists(os.environ["GELLO_TEST_FLAG"]):
            raise RuntimeError("flag missing")
        record("done", payload.key)

    async def after(self, payload: Work) -> None:
        marker = os.environ["GELLO_TEST_FLAG"] + ".died"
        if payload.die_once_after and not os.path.exists(marker):
            Path(marker).touch()
            os._exit(9)  # as if SIGKILLed between this link and the next


class Note(Job[Work]):
    """A callback: records that it ran."""

    async def handle(self, payload: Work) -> None:
        record("note", payload.key)


class Link(Step):
    """A chain link with attempts to spare, so a worker dying under it only delays it."""

    tries = 3


class Tick(Job[Work]):
    """Records the occurrence it was scheduled for."""

    async def handle(self, payload: Work) -> None:
        record("tick", f"{self.envelope.middleware['scheduled_at']:.0f}")


# Every second: what the end-to-end scheduler tests watch.
schedule(Tick, cron="* * * * * *", payload={"key": "tick"}, name="every-second")


class Limited(Job[Work]):
    """Three runs per second across every worker; tries = 1, so a release that used an
    attempt would land it in the failed store."""

    tries = 1
    admitted_at = 0.0

    def middleware(self) -> list[Any]:
        return [RateLimited("e2e", limit=3, per=1.0, clock=self.admit)]

    def admit(self) -> float:
        # The time the limiter counts this run in, recorded: on a busy machine the run
        # may start after that window closed, but it counts in the window that let it in.
        self.admitted_at = time.time()
        return self.admitted_at

    async def handle(self, payload: Work) -> None:
        record("limited", f"{payload.key}@{self.admitted_at:.3f}")
        # Work that keeps a slot busy: a worker at concurrency 2 cannot take a whole
        # window's three runs, so every worker process serving the queue takes part.
        await asyncio.sleep(0.4)
