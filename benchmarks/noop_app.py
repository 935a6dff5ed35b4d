"""Jobs the benchmarks run: a no-op, and one that records its pickup latency."""

from __future__ import annotations

import os
import time

from pydantic import BaseModel

from gello_queue import Job


class Empty(BaseModel):
    n: int = 0


class Noop(Job[Empty]):
    async def handle(self, payload: Empty) -> None:
        return None


class Stamp(BaseModel):
    sent_at: float


class Pickup(Job[Stamp]):
    """Appends (start time - dispatch time) to the file named by GELLO_BENCH_LATENCY_FILE."""

    async def handle(self, payload: Stamp) -> None:
        latency = time.time() - payload.sent_at
        with open(os.environ["GELLO_BENCH_LATENCY_FILE"], "a") as out:
            out.write(f"{latency}\n")
