"""An application module for end-to-end tests, imported by `gello --app app_jobs`.

Every execution is appended to a ledger file (GELLO_TEST_LEDGER), independent of the
queue, so tests can count runs per job.
"""

from __future__ import annotations

import asyncio
import os
import time

from pydantic import BaseModel

from gello_queue import Job


class Work(BaseModel):
    key: str
    seconds: float = 0.0


def record(kind: str, key: str) -> None:
    with open(os.environ["GELLO_TEST_LEDGER"], "a") as ledger:
        ledger.write(f"{kind} {key} {os.getpid()}\n")


class Ledger(Job[Work]):
    """Sleeps for ``seconds`` (a job in flight), then records that it ran."""

    tries = 5
    backoff = 0

    async def handle(self, payload: Work) -> None:
        record("start", payload.key)
        if payload.seconds:
            await asyncio.sleep(payload.seconds)
        record("done", payload.key)


class BlockingLedger(Job[Work]):
    """``Ledger`` with a plain ``def handle``: it runs in a child process of the worker."""

    tries = 5
    backoff = 0

    def handle(self, payload: Work) -> None:  # type: ignore[override]
        record("start", payload.key)
        time.sleep(payload.seconds)
        record("done", payload.key)


class Toggle(Job[Work]):
    """Fails until the flag file (GELLO_TEST_FLAG) exists: a bug fixed by a deploy."""

    tries = 2
    backoff = 0

    async def handle(self, payload: Work) -> None:
        if not os.path.exists(os.environ["GELLO_TEST_FLAG"]):
            raise RuntimeError("feature flag missing")
        record("done", payload.key)


class Suicide(Job[Work]):
    """Kills the worker process running it, every time: a poison pill."""

    tries = 2

    async def handle(self, payload: Work) -> None:
        os._exit(9)


class Fault(BaseModel):
    key: str
    error: str
    """``ValueError`` or ``KeyError``."""


class Picky(Job[Fault]):
    """Fails, on its only try, with the exception its payload names until the flag file
    (GELLO_TEST_FLAG) exists: failures of two kinds, for a filter to tell apart."""

    tries = 1

    async def handle(self, payload: Fault) -> None:
        if not os.path.exists(os.environ["GELLO_TEST_FLAG"]):
            error = {"ValueError": ValueError, "KeyError": KeyError}[payload.error]
            raise error(f"picky about {payload.key}")
        record("done", payload.key)


class Charge(BaseModel):
    customer_id: int
    key: str = "charge"


class ChargeCustomer(Job[Charge]):
    """Tagged ``billing`` and, from its payload, ``customer:<id>``; a key of ``decline``
    fails it for good."""

    tags = ("billing",)
    tries = 1

    async def handle(self, payload: Charge) -> None:
        if payload.key == "decline":
            raise ValueError("card declined")
        record("done", payload.key)
