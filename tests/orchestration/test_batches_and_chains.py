"""Batches and chains through real workers, on every driver."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from orch_helpers import running, until
from pydantic import BaseModel

from gello_queue import Job, JobRegistry, Queue
from gello_queue.core.errors import ConfigurationError
from gello_queue.orchestration.batch import Batch
from gello_queue.orchestration.chain import Chain

registry = JobRegistry()
log: list[str] = []
gate: dict[str, asyncio.Event] = {}
started: set[str] = set()


class P(BaseModel):
    tag: str
    fail: bool = False
    grow: int = 0


class Step(Job[P], register=False):
    tries = 1

    async def handle(self, payload: P) -> None:
        if payload.fail:
            raise RuntimeError(f"{payload.tag} broke")
        batch = self.batch()
        if payload.grow and batch is not None:
            await batch.add([Step.make(tag=f"{payload.tag}.{i}") for i in range(payload.grow)])
        log.append(payload.tag)


class Together(Job[P], register=False):
    """Finishes only when both of its kind have started: they end at the same moment."""

    async def handle(self, payload: P) -> None:
        started.add(payload.tag)
        if len(started) == 2:
            gate["both"].set()
        await asyncio.wait_for(gate["both"].wait(), 10)
        log.append(payload.tag)


class Callback(Job[P], register=False):
    async def handle(self, payload: P) -> None:
        batch = self.batch()
        found = None if batch is None else await batch.find()
        counts = "" if found is None else f" {found.processed}/{found.failed}/{found.total}"
        log.append(f"cb:{payload.tag}{counts}")


for cls in (Step, Together, Callback):
    registry.register(cls)


def cb(tag: str) -> Any:
    return Callback.make(tag=tag)


async def test_batch_runs_its_jobs_then_and_finally_once(queue: Queue) -> None:
    log.clear()
    batch = Batch(
        [Step.make(tag=f"j{i}") for i in range(5)],
        name="import",
        then=cb("then"),
        catch=cb("catch"),
        finally_=cb("finally"),
    )
    batch_id = await batch.dispatch(queue)
    driver = await queue.driver()
    found = await driver.batch_find(batch_id)
    assert found is not None
    assert (found.name, found.total, found.pending, found.percent) == ("import", 5, 5, 0.0)
    async with running(queue, registry, concurrency=3):
        await until(lambda: "cb:finally 5/0/5" in log and "cb:then 5/0/5" in log)
        await until(lambda: _empty(queue))
    assert sorted(x for x in log if x.startswith("j")) == [f"j{i}" for i in range(5)]
    assert [x for x in log if x.startswith("cb:")].count("cb:then 5/0/5") == 1
    assert not any(x.startswith("cb:catch") for x in log)
    done = await driver.batch_find(batch_id)
    assert done is not None
    assert done.finished
    assert done.percent == 100.0


async def test_a_failure_cancels_the_batch_runs_catch_and_finally(queue: Queue) -> None:
    log.clear()
    jobs = [Step.make(tag="bad", fail=True)] + [Step.make(tag=f"j{i}") for i in range(4)]
    batch_id = await Batch(
        jobs, then=cb("then"), catch=cb("catch"), finally_=cb("finally")
    ).dispatch(queue)
    async with running(queue, registry, concurrency=1):
        await until(lambda: any(x.startswith("cb:finally") for x in log))
        await until(lambda: _empty(queue))
    found = await (await queue.driver()).batch_find(batch_id)
    assert found is not None
    assert found.cancelled
    assert found.failed_ids == (found.failed_ids[0],)
    assert found.failed == 1
    assert found.pending == 0
    assert sum(x.startswith("cb:catch") for x in log) == 1
    assert not any(x.startswith("cb:then") for x in log)
    # Concurrency 1 and the failing job first: the others were skipped once it failed.
    assert [x for x in log if x.startswith("j")] == []


async def test_allow_failures_still_runs_then(queue: Queue) -> None:
    log.clear()
    jobs = [Step.make(tag="bad", fail=True), Step.make(tag="ok")]
    await Batch(jobs, then=cb("then"), catch=cb("catch"), allow_failures=True).dispatch(queue)
    async with running(queue, registry):
        await until(lambda: any(x.startswith("cb:then") for x in log))
        await until(lambda: _empty(queue))
    assert "ok" in log
    assert sum(x.startswith("cb:catch") for x in log) == 1
    assert [x for x in log if x.startswith("cb:then")] == ["cb:then 1/1/2"]


async def test_last_two_jobs_ending_at_once_on_two_workers_fire_callbacks_once(
    queue: Queue,
) -> None:
    log.clear()
    started.clear()
    gate["both"] = asyncio.Event()  # one per test: an event belongs to one loop
    batch = Batch(
        [Together.make(tag="a"), Together.make(tag="b")],
        then=cb("then"),
        finally_=cb("finally"),
    )
    await batch.dispatch(queue)
    async with running(queue, registry, workers=2, concurrency=1) as workers:
        await until(lambda: _empty(queue))
        await until(lambda: any(x.startswith("cb:finally") for x in log))
        assert all(w.status().processed >= 1 for w in workers)  # one job on each
    assert sorted(x for x in log if x.startswith("cb:")) == ["cb:finally 2/0/2", "cb:then 2/0/2"]


async def test_jobs_added_from_inside_a_running_job_belong_to_the_batch(queue: Queue) -> None:
    log.clear()
    batch_id = await Batch([Step.make(tag="root", grow=3)], then=cb("then")).dispatch(queue)
    async with running(queue, registry):
        await until(lambda: any(x.startswith("cb:then") for x in log))
    assert sorted(x for x in log if x.startswith("root")) == ["root", "root.0", "root.1", "root.2"]
    found = await (await queue.driver()).batch_find(batch_id)
    assert found is not None
    assert (found.total, found.processed) == (4, 4)
    assert "cb:then 4/0/4" in log


async def test_a_cancelled_batch_skips_its_jobs(queue: Queue) -> None:
    log.clear()
    batch = Batch([Step.make(tag=f"j{i}") for i in range(3)], finally_=cb("finally"))
    batch_id = await batch.dispatch(queue)
    driver = await queue.driver()
    assert await driver.batch_cancel(batch_id)
    async with running(queue, registry):
        await until(lambda: any(x.startswith("cb:finally") for x in log))
    assert [x for x in log if x.startswith("j")] == []


async def test_chain_runs_in_order_and_a_failure_runs_catch(queue: Queue) -> None:
    log.clear()
    await Chain(
        [Step.make(tag="a"), Step.make(tag="b"), Step.make(tag="c")], catch=cb("x")
    ).dispatch(queue)
    await Chain(
        [Step.make(tag="d"), Step.make(tag="e", fail=True), Step.make(tag="f")], catch=cb("caught")
    ).dispatch(queue)
    async with running(queue, registry, concurrency=4):
        await until(lambda: "c" in log and "cb:caught" in log)
        await until(lambda: _empty(queue))
    assert [x for x in log if x in "abc"] == ["a", "b", "c"]
    assert "f" not in log
    assert "cb:x" not in log


async def test_chain_with_a_batch_and_a_batch_with_a_chain(queue: Queue) -> None:
    log.clear()
    inner = Batch(
        [Chain([Step.make(tag="b1"), Step.make(tag="b2")]), Step.make(tag="b3")],
        then=cb("batch-then"),
    )
    await Chain([Step.make(tag="first"), inner, Step.make(tag="last")]).dispatch(queue)
    async with running(queue, registry, concurrency=4):
        await until(lambda: "last" in log)
        await until(lambda: _empty(queue))
    assert log.index("first") < min(log.index("b1"), log.index("b3"))
    assert log.index("b1") < log.index("b2") < log.index("last")
    assert log.index("b3") < log.index("last")
    assert "cb:batch-then 3/0/3" in log


async def test_a_failing_batch_inside_a_chain_stops_it(queue: Queue) -> None:
    log.clear()
    inner = Batch([Step.make(tag="boom", fail=True)])
    await Chain([inner, Step.make(tag="never")], catch=cb("chain-catch")).dispatch(queue)
    async with running(queue, registry):
        await until(lambda: "cb:chain-catch" in log)
        await until(lambda: _empty(queue))
    assert "never" not in log


async def test_a_batch_inside_a_chain_inside_a_batch_counts_there_as_one_step(
    queue: Queue,
) -> None:
    log.clear()
    inner = Batch([Step.make(tag="i1"), Step.make(tag="i2")], then=cb("inner-then"))
    outer = Batch(
        [Chain([Step.make(tag="a"), inner, Step.make(tag="d")]), Step.make(tag="e")],
        then=cb("outer-then"),
        finally_=cb("outer-finally"),
    )
    outer_id = await outer.dispatch(queue)
    driver = await queue.driver()
    found = await driver.batch_find(outer_id)
    assert found is not None
    assert found.total == 4  # a, the inner batch, d, e
    async with running(queue, registry, concurrency=4):
        await until(lambda: any(x.startswith("cb:outer-finally") for x in log))
        await until(lambda: _empty(queue))
    assert log.index("a") < min(log.index("i1"), log.index("i2"))
    assert max(log.index("i1"), log.index("i2")) < log.index("d")
    assert "cb:inner-then 2/0/2" in log
    # The callbacks are pushed together and may run in either order.
    assert sorted(x for x in log if x.startswith("cb:outer")) == [
        "cb:outer-finally 4/0/4",
        "cb:outer-then 4/0/4",
    ]
    done = await driver.batch_find(outer_id)
    assert done is not None
    assert (done.processed, done.failed, done.finished) == (4, 0, True)


async def test_a_failing_nested_batch_fails_its_step_and_the_rest_of_its_chain(
    queue: Queue,
) -> None:
    log.clear()
    inner = Batch([Step.make(tag="boom", fail=True)])
    outer = Batch(
        [Chain([Step.make(tag="a"), inner, Step.make(tag="never")]), Step.make(tag="e")],
        catch=cb("outer-catch"),
        finally_=cb("outer-finally"),
        allow_failures=True,
    )
    outer_id = await outer.dispatch(queue)
    async with running(queue, registry, concurrency=2):
        await until(lambda: any(x.startswith("cb:outer-finally") for x in log))
        await until(lambda: _empty(queue))
    assert "never" not in log
    assert "e" in log
    done = await (await queue.driver()).batch_find(outer_id)
    assert done is not None
    # a and e processed; the inner batch and the step after it failed.
    assert (done.total, done.processed, done.failed) == (4, 2, 2)
    assert sum(x.startswith("cb:outer-catch") for x in log) == 1


def test_an_empty_batch_is_refused_at_once() -> None:
    with pytest.raises(ConfigurationError, match="a batch needs at least one job"):
        Batch([], then=cb("then"))


def test_a_chain_inside_a_batch_cannot_start_with_a_batch(queue: Queue) -> None:
    nested = Chain([Batch([Step.make(tag="x")]), Step.make(tag="y")])
    with pytest.raises(ConfigurationError, match="must start with a job"):
        Batch([nested]).spec(queue.defaults, 0.0)


async def _empty(queue: Queue) -> bool:
    counts = await (await queue.driver()).counts()
    return all(c.total == 0 for c in counts.values())
