"""Random operations against every driver and a small reference model: they must agree.

Memory and SQLite take an injected clock, so their machines also move time forward
(delays coming due, leases expiring, rescue). Redis and PostgreSQL judge time by their
servers' clocks; their machines make delayed jobs due with ``promote`` instead.
"""

from __future__ import annotations

import asyncio
import itertools
import tempfile
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from backends import postgres as pg_backend
from backends import redis as redis_backend
from helpers import envelope
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from gello_queue.drivers.memory import MemoryDriver, MemoryStore
from gello_queue.drivers.sqlite import SqliteDriver
from gello_queue.ports import Failure, QueueDriver, Reservation

QUEUES = ("a", "b")
LEASE_S = 10.0
FAR_S = 1000.0


@dataclass
class Model:
    """What the reference model knows of one job."""

    id: str
    queue: str
    priority: int
    available_at: float
    max_attempts: int
    attempts: int = 0
    held: Reservation | None = None
    lease_until: float = 0.0
    failed: bool = False


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class QueueMachine(RuleBasedStateMachine):
    kind = "memory"

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.stack = AsyncExitStack()
        self.clock = Clock()
        self.jobs: dict[str, Model] = {}
        self.seq = itertools.count()
        self.tmp = tempfile.TemporaryDirectory()
        self.driver: QueueDriver = self.run(self.open())

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def open(self) -> QueueDriver:
        if self.kind == "memory":
            return MemoryDriver(MemoryStore(self.clock))
        if self.kind == "sqlite":
            driver = SqliteDriver(Path(self.tmp.name) / "q.db", clock=self.clock)
            await driver.open()
            self.stack.push_async_callback(driver.close)
            return driver
        opener = redis_backend.open_driver if self.kind == "redis" else pg_backend.open_driver
        driver: QueueDriver = await self.stack.enter_async_context(opener(None))
        return driver

    def teardown(self) -> None:
        self.run(self.stack.aclose())
        self.loop.close()
        self.tmp.cleanup()

    @property
    def clocked(self) -> bool:
        return self.kind in ("memory", "sqlite")

    def now(self) -> float:
        return self.clock.now if self.clocked else float(self.run(self.driver.now()))

    # -- rules -------------------------------------------------------------------------
    @initialize()
    def start(self) -> None:
        assert self.run(self.driver.counts()) == {}

    @rule(
        queue=st.sampled_from(QUEUES),
        priority=st.sampled_from((0, 1, 5)),
        later=st.booleans(),
        tries=st.integers(1, 3),
        count=st.integers(1, 3),
    )
    def push(self, queue: str, priority: int, later: bool, tries: int, count: int) -> None:
        now = self.now()
        envs = [
            envelope(
                queue,
                priority=priority,
                max_attempts=tries,
                available_at=now + (FAR_S if later else 0.0),
                created_at=now,
            )
            for _ in range(count)
        ]
        assert self.run(self.driver.push(envs)) == [e.id for e in envs]
        for env in envs:
            self.jobs[env.id] = Model(env.id, queue, priority, env.available_at, tries)

    def expected_order(self, queues: tuple[str, ...], limit: int) -> list[str]:
        now = self.now()
        out: list[str] = []
        for queue in queues:
            ready = [
                j
                for j in self.jobs.values()
                if j.queue == queue and not j.failed and j.held is None and j.available_at <= now
            ]
            ready.sort(key=lambda j: (-j.priority, j.available_at, j.id))
            out += [j.id for j in ready[: limit - len(out)]]
        return out

    @rule(order=st.permutations(QUEUES), limit=st.integers(1, 4))
    def reserve(self, order: list[str], limit: int) -> None:
        expected = self.expected_order(tuple(order), limit)
        got = self.run(self.driver.reserve(order, limit, lease_s=LEASE_S, worker_id="w"))
        assert sorted(r.id for r in got) == sorted(expected)
        for res in got:
            job = self.jobs[res.id]
            job.attempts += 1
            assert res.attempts == job.attempts
            job.held = res
            job.lease_until = self.now() + LEASE_S

    def held(self) -> list[Model]:
        return [j for j in self.jobs.values() if j.held is not None]

    @precondition(lambda self: bool(self.held()))
    @rule(data=st.data(), outcome=st.sampled_from(("ack", "release", "fail")), later=st.booleans())
    def finish(self, data: st.DataObject, outcome: str, later: bool) -> None:
        job = data.draw(st.sampled_from(sorted(self.held(), key=lambda j: j.id)))
        res = job.held
        assert res is not None
        if outcome == "ack":
            assert self.run(self.driver.ack([res])) == []
            del self.jobs[job.id]
            return
        job.held = None
        env = envelope(
            job.queue,
            id=job.id,
            attempts=job.attempts,
            priority=job.priority,
            max_attempts=job.max_attempts,
        )
        if outcome == "fail":
            assert self.run(self.driver.fail(res, env.encode().decode(), Failure("E", "m")))
            job.failed = True
            return
        delay = FAR_S if later else 0.0
        assert self.run(self.driver.release(res, env, delay)) is True
        job.available_at = self.now() + delay

    @precondition(lambda self: bool(self.held()))
    @rule(data=st.data())
    def stale_token_changes_nothing(self, data: st.DataObject) -> None:
        job = data.draw(st.sampled_from(sorted(self.held(), key=lambda j: j.id)))
        res = job.held
        assert res is not None
        forged = Reservation(res.id, res.queue, "stale", res.attempts, res.body, 0.0)
        assert self.run(self.driver.ack([forged])) == [res.id]
        assert self.run(self.driver.fail(forged, "{}", Failure("E", "m"))) is False

    @precondition(lambda self: any(j.failed for j in self.jobs.values()))
    @rule(data=st.data())
    def retry_failed(self, data: st.DataObject) -> None:
        job = data.draw(
            st.sampled_from(sorted((j for j in self.jobs.values() if j.failed), key=lambda j: j.id))
        )
        assert self.run(self.driver.failed_retry([job.id])) == 1
        job.failed, job.attempts, job.available_at = False, 0, self.now()

    @precondition(
        lambda self: any(
            j.held is None and not j.failed and j.available_at > self.now()
            for j in self.jobs.values()
        )
    )
    @rule(data=st.data())
    def promote(self, data: st.DataObject) -> None:
        now = self.now()
        waiting = sorted(
            (
                j
                for j in self.jobs.values()
                if j.held is None and not j.failed and j.available_at > now
            ),
            key=lambda j: j.id,
        )
        job = data.draw(st.sampled_from(waiting))
        assert self.run(self.driver.promote(job.id)) is True
        job.available_at = self.now()

    @precondition(lambda self: self.clocked)
    @rule(seconds=st.sampled_from((1.0, LEASE_S + 1, FAR_S + 1)))
    def time_passes(self, seconds: float) -> None:
        self.clock.now += seconds

    @precondition(lambda self: self.clocked)
    @rule()
    def rescue(self) -> None:
        now = self.now()
        result = self.run(self.driver.rescue())
        expired = [j for j in self.held() if j.lease_until <= now]
        assert sorted(result.requeued + result.failed) == sorted(j.id for j in expired)
        for job in expired:
            job.held = None
            if job.attempts >= job.max_attempts:
                job.failed = True
                assert job.id in result.failed
            else:
                job.available_at = now
                assert job.id in result.requeued

    @invariant()
    def counts_agree(self) -> None:
        now = self.now()
        counts = self.run(self.driver.counts())
        for queue in QUEUES:
            mine = [j for j in self.jobs.values() if j.queue == queue]
            expected = (
                sum(1 for j in mine if not j.failed and j.held is None and j.available_at <= now),
                sum(1 for j in mine if not j.failed and j.held is None and j.available_at > now),
                sum(1 for j in mine if j.held is not None),
                sum(1 for j in mine if j.failed),
            )
            got = counts.get(queue)
            seen = (
                (0, 0, 0, 0)
                if got is None
                else (got.pending, got.scheduled, got.reserved, got.failed)
            )
            assert seen == expected, f"queue {queue}: driver {seen}, model {expected}"


def machine_for(kind: str) -> type[QueueMachine]:
    return type(f"{kind.title()}Machine", (QueueMachine,), {"kind": kind})


@pytest.mark.parametrize("kind", ["memory", "sqlite", "redis", "postgres"])
def test_driver_agrees_with_the_model(kind: str) -> None:
    examples = 60 if kind in ("memory", "sqlite") else 20
    machine = machine_for(kind)
    machine.TestCase.settings = settings(
        max_examples=examples,
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    machine.TestCase().runTest()
