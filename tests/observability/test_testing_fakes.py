"""gello_queue.testing: the fake queue, direct job runs and the pytest plugin's fixtures."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from gello_queue import Batch, Chain, Job, Queue, default_queue, set_default_queue
from gello_queue.core.errors import ConfigurationError
from gello_queue.middleware import CallNext
from gello_queue.testing import FakeQueue, QueueHarness, fake, run_job, run_job_blocking


class Welcome(BaseModel):
    user_id: int
    email: str = "ada@example.com"


class FakesWelcomeEmail(Job[Welcome]):
    queue = "emails"

    async def handle(self, payload: Welcome) -> None:
        await FakesAudit.dispatch(user_id=payload.user_id)


class FakesAudit(Job[Welcome]):
    async def handle(self, payload: Welcome) -> None:
        return None


class FakesRateLimited(Job[Welcome]):
    async def handle(self, payload: Welcome) -> None:
        if payload.user_id > 10:
            self.release(30, "rate limited")
        if payload.user_id < 0:
            self.fail("negative user")
        if payload.user_id == 0:
            raise ValueError("no user 0")


class Throttle:
    async def handle(self, job: Job[Any], payload: Any, call_next: CallNext) -> None:
        if payload.user_id == 7:
            job.release(5)
        await call_next()


class FakesThrottled(Job[Welcome]):
    run_in = "thread"

    def middleware(self) -> list[Any]:
        return [Throttle()]

    def handle(self, payload: Welcome) -> None:  # type: ignore[override]
        FakesAudit.dispatch_blocking(user_id=payload.user_id)


class FakesFlaky(Job[Welcome]):
    tries = 2
    backoff = 60

    async def handle(self, payload: Welcome) -> None:
        raise RuntimeError("always")


# -- the fake queue --------------------------------------------------------------------
async def test_fake_records_dispatches_instead_of_queueing() -> None:
    with fake() as queue:
        await FakesWelcomeEmail.dispatch(user_id=1)
        await FakesWelcomeEmail.dispatch(user_id=2, queue="vip", delay=30)
        await queue.bulk([FakesAudit.make(user_id=3)])
    queue.assert_pushed(FakesWelcomeEmail)
    queue.assert_pushed(FakesWelcomeEmail, 2)
    queue.assert_pushed(FakesWelcomeEmail, lambda p: p.user_id == 2)
    queue.assert_pushed(FakesWelcomeEmail, lambda p, pushed: pushed.delay_s == pytest.approx(30))
    queue.assert_pushed_on("emails", FakesWelcomeEmail, lambda p: p.user_id == 1)
    queue.assert_pushed_on("vip", FakesWelcomeEmail)
    queue.assert_pushed_times(FakesAudit, 1)
    queue.assert_not_pushed(FakesRateLimited)
    queue.assert_not_pushed(FakesWelcomeEmail, lambda p: p.user_id == 9)
    queue.assert_count(3)
    assert await queue.size("emails") == 1
    assert [p.payload.user_id for p in queue.pushed(FakesWelcomeEmail)] == [1, 2]  # type: ignore[attr-defined]


def test_failed_assertions_say_what_was_pushed_instead() -> None:
    with fake() as queue:
        FakesAudit.dispatch_blocking(user_id=5)
    with pytest.raises(
        AssertionError,
        match=r"FakesWelcomeEmail was not pushed\. Pushed instead \(1\):\n  - FakesAudit on 'default' \{'user_id': 5",
    ):
        queue.assert_pushed(FakesWelcomeEmail)
    with pytest.raises(AssertionError, match=r"(?s)matching the given condition.*FakesAudit"):
        queue.assert_pushed(FakesAudit, lambda p: p.user_id == 6)
    with pytest.raises(
        AssertionError, match=r"(?s)not pushed on 'emails'.*FakesAudit on 'default'"
    ):
        queue.assert_pushed_on("emails", FakesAudit)
    with pytest.raises(AssertionError, match=r"pushed 1 time\(s\), expected 2"):
        queue.assert_pushed(FakesAudit, 2)
    with pytest.raises(AssertionError, match="expected none: FakesAudit on 'default'"):
        queue.assert_not_pushed(FakesAudit)
    with pytest.raises(AssertionError, match="Expected no jobs to be pushed"):
        queue.assert_nothing_pushed()
    with pytest.raises(AssertionError, match=r"1 job\(s\) were pushed, expected 0"):
        queue.assert_count(0)
    empty = FakeQueue()
    with pytest.raises(AssertionError, match="Nothing was pushed"):
        empty.assert_pushed(FakesAudit)
    empty.assert_nothing_pushed()


async def test_faking_some_jobs_queues_the_others_for_real() -> None:
    real = Queue(f"memory://fakes-{uuid.uuid4().hex}")
    with fake(FakesAudit, passthrough=real) as queue:
        audit_id = await FakesAudit.dispatch(user_id=1)
        email_id = await FakesWelcomeEmail.dispatch(user_id=1)
        ids = await queue.bulk([FakesAudit.make(user_id=2), FakesWelcomeEmail.make(user_id=2)])
    queue.assert_pushed_times(FakesAudit, 2)
    queue.assert_not_pushed(FakesWelcomeEmail)
    driver = await real.driver()
    assert await driver.find(email_id) is not None
    assert await driver.find(ids[1]) is not None
    assert await driver.find(audit_id) is None
    assert await real.size("emails") == 2


def test_fake_restores_the_previous_default_queue() -> None:
    before = Queue("memory://fakes-restore")
    set_default_queue(before)
    try:
        queue = fake()
        assert default_queue() is queue
        FakesAudit.dispatch_blocking(user_id=1)
        queue.push_blocking(FakesAudit, {"user_id": 2})
        queue.later_blocking(10, FakesAudit, user_id=3)
        queue.push_on_blocking("x", FakesAudit, user_id=4)
        queue.restore()
        assert default_queue() is before
        queue.assert_count(4)
        assert queue.size_blocking("x") == 1
        assert queue.clear_blocking() == 3
        queue.assert_count(1)
    finally:
        set_default_queue(None)


# -- batches and chains against the fake ----------------------------------------------------
async def test_batches_are_recorded_not_run() -> None:
    with fake() as queue:
        batch_id = await Batch(
            [FakesAudit.make(user_id=i) for i in range(3)],
            name="audit",
            then=FakesWelcomeEmail.make(user_id=9),
            allow_failures=True,
        ).dispatch()
        Batch([FakesWelcomeEmail.make(user_id=1)]).dispatch_blocking(queue)
    (first, second) = queue.batches
    assert first.id == batch_id
    queue.assert_batched()
    queue.assert_batched(lambda b: b.name == "audit" and len(b.jobs) == 3 and b.allow_failures)
    queue.assert_batched(lambda b: [p.job for p in b.callbacks()["then"]] == [FakesWelcomeEmail])
    queue.assert_batch_count(2)
    assert queue.batched(lambda b: not b.name) == [second]
    queue.assert_nothing_pushed()  # batch members are batched, not pushed
    assert await (await queue.driver()).counts() == {}


def test_batch_assertions_say_what_was_batched_instead() -> None:
    with fake() as queue:
        queue.assert_nothing_batched()
        with pytest.raises(
            AssertionError, match=r"No batch was dispatched\. Nothing was batched\."
        ):
            queue.assert_batched()
        Batch(
            [FakesAudit.make(user_id=i) for i in range(3)]
            + [Chain([FakesAudit.make(user_id=4), FakesWelcomeEmail.make(user_id=4)])],
            name="audit",
            then=FakesWelcomeEmail.make(user_id=9),
            finally_=[FakesAudit.make(user_id=0)],
        ).dispatch_blocking()
    described = (
        "batch 'audit' of 4 job(s): FakesAudit x3, (FakesAudit -> FakesWelcomeEmail); "
        "then FakesWelcomeEmail; finally FakesAudit"
    )
    with pytest.raises(AssertionError) as raised:
        queue.assert_batched(lambda b: b.name == "import")
    assert str(raised.value) == (
        "No batch matching the given condition was dispatched. Batched instead (1):\n"
        f"  - {described}"
    )
    with pytest.raises(
        AssertionError, match=r"(?s)1 batch\(es\) were dispatched, expected 2\..*x3"
    ):
        queue.assert_batch_count(2)
    with pytest.raises(
        AssertionError, match=r"(?s)Expected no batches to be dispatched\..*'audit'"
    ):
        queue.assert_nothing_batched()
    # A job looked for among pushes is shown where it was batched instead.
    with pytest.raises(AssertionError) as raised:
        queue.assert_pushed(FakesAudit)
    assert str(raised.value) == (
        f"FakesAudit was not pushed. Nothing was pushed.\nFakesAudit was batched in {described}"
    )


async def test_chains_are_recorded_with_their_first_job_pushed() -> None:
    with fake() as queue:
        chain_id = await Chain(
            [
                FakesAudit.make(user_id=1),
                Chain([FakesWelcomeEmail.make(user_id=2)]),
                FakesAudit.make(user_id=3),
            ],
            catch=FakesRateLimited.make(user_id=0),
        ).dispatch()
        await FakesAudit.dispatch(user_id=7)
        Chain(
            [Batch([FakesAudit.make(user_id=5)], name="inner"), FakesWelcomeEmail.make(user_id=6)]
        ).dispatch_blocking()
    chain, _ = queue.chains
    assert chain.id == chain_id
    assert chain.catch is not None
    assert chain.catch.job is FakesRateLimited
    queue.assert_chained([FakesAudit, FakesWelcomeEmail, FakesAudit])
    queue.assert_chained(
        ["FakesAudit", FakesWelcomeEmail.make(user_id=2), FakesAudit.make(user_id=3)]
    )
    queue.assert_chained([Batch, FakesWelcomeEmail])
    queue.assert_chained(
        [lambda step: isinstance(step, Batch) and step.name == "inner", FakesWelcomeEmail]
    )
    # The head of a chain counts as pushed; the batch heading a chain is not a dispatched batch.
    queue.assert_pushed(FakesAudit, 2)
    queue.assert_nothing_batched()
    head = queue.pushed(FakesAudit, lambda p: p.user_id == 1)[0]
    assert head.id == chain_id
    assert [s.job for s in head.chain if not isinstance(s, Batch)] == [
        FakesWelcomeEmail,
        FakesAudit,
    ]
    assert [link["payload"] for link in head.envelope.chain] == [
        {"user_id": 2, "email": "ada@example.com"},
        {"user_id": 3, "email": "ada@example.com"},
    ]
    queue.assert_pushed_without_chain(FakesAudit)  # user_id=7
    queue.assert_pushed_without_chain(FakesAudit, lambda p: p.user_id == 7)
    queue.assert_count(2)


def test_chain_assertions_say_what_was_chained_instead() -> None:
    with fake() as queue:
        with pytest.raises(
            AssertionError, match=r"No chain FakesAudit was dispatched\. Nothing was chained\."
        ):
            queue.assert_chained([FakesAudit])
        Chain([FakesAudit.make(user_id=1), FakesWelcomeEmail.make(user_id=2)]).dispatch_blocking()
    with pytest.raises(AssertionError) as raised:
        queue.assert_chained([FakesAudit, FakesWelcomeEmail.make(user_id=3)])
    assert str(raised.value) == (
        "No chain FakesAudit -> FakesWelcomeEmail {'user_id': 3, 'email': 'ada@example.com'} "
        "was dispatched. Chained instead (1):\n"
        "  - FakesAudit {'user_id': 1, 'email': 'ada@example.com'} -> "
        "FakesWelcomeEmail {'user_id': 2, 'email': 'ada@example.com'}"
    )
    with pytest.raises(AssertionError, match="No chain FakesAudit -> a batch was dispatched"):
        queue.assert_chained([FakesAudit, Batch])
    with pytest.raises(AssertionError, match=r"No chain FakesAudit was dispatched"):
        queue.assert_chained([FakesAudit])  # the whole chain, not a prefix
    with pytest.raises(AssertionError) as raised:
        queue.assert_pushed_without_chain(FakesAudit)
    assert str(raised.value) == (
        "FakesAudit was pushed only with a chain:\n"
        "  - FakesAudit on 'default' {'user_id': 1, 'email': 'ada@example.com'}, then FakesWelcomeEmail"
    )
    with pytest.raises(AssertionError) as raised:
        queue.assert_pushed(FakesWelcomeEmail)
    assert str(raised.value).endswith(
        "\nFakesWelcomeEmail was chained in FakesAudit {'user_id': 1, 'email': 'ada@example.com'}"
        " -> FakesWelcomeEmail {'user_id': 2, 'email': 'ada@example.com'}"
    )
    with pytest.raises(
        AssertionError, match=r"(?s)FakesRateLimited was not pushed\. Pushed instead"
    ):
        queue.assert_pushed_without_chain(FakesRateLimited)


async def test_faking_some_jobs_dispatches_batches_and_chains_of_the_others_for_real() -> None:
    real = Queue(f"memory://fakes-{uuid.uuid4().hex}")
    with fake(FakesAudit, passthrough=real) as queue:
        await Batch([FakesWelcomeEmail.make(user_id=1)], then=FakesAudit.make(user_id=1)).dispatch()
        await Chain([FakesWelcomeEmail.make(user_id=2), FakesAudit.make(user_id=2)]).dispatch()
        await Batch([FakesWelcomeEmail.make(user_id=3)]).dispatch()
        await Chain([FakesWelcomeEmail.make(user_id=4)]).dispatch()
    queue.assert_batch_count(1)  # the one with a faked callback
    assert len(queue.chains) == 1  # the one with a faked link
    assert await real.size("emails") == 2


def test_blocking_dispatches_of_batches_and_chains_of_jobs_not_faked() -> None:
    real = Queue(f"memory://fakes-{uuid.uuid4().hex}")
    try:
        with fake(FakesAudit, passthrough=real) as queue:
            Batch([FakesWelcomeEmail.make(user_id=1)]).dispatch_blocking()
            Chain([FakesWelcomeEmail.make(user_id=2)]).dispatch_blocking()
            Chain([FakesAudit.make(user_id=3)]).dispatch_blocking()
        queue.assert_nothing_batched()
        queue.assert_chained([FakesAudit])
        assert real.size_blocking("emails") == 2
    finally:
        real.close_blocking()  # its private loop


async def test_a_recorded_batch_or_chain_is_checked_as_a_real_dispatch_would_be() -> None:
    with fake() as queue, pytest.raises(ConfigurationError, match="a chain inside a batch"):
        await Batch(
            [Chain([Batch([FakesAudit.make(user_id=2)]), FakesAudit.make(user_id=1)])]
        ).dispatch()
    queue.assert_nothing_batched()


# -- running one job directly ------------------------------------------------------------
async def test_run_job_reports_what_the_job_did_with_itself() -> None:
    (await run_job(FakesRateLimited, user_id=1)).assert_completed()
    released = await run_job(FakesRateLimited, user_id=11)
    released.assert_released(delay=30, reason="rate limited")
    released.assert_not_failed()
    with pytest.raises(
        AssertionError,
        match="to release itself with a delay of 10s, but it released itself with a delay of 30s",
    ):
        released.assert_released(delay=10)
    with pytest.raises(AssertionError, match="to complete, but it released itself"):
        released.assert_completed()
    failed = await run_job(FakesRateLimited, {"user_id": -1}, attempt=3)
    failed.assert_failed("negative")
    assert failed.job.attempt == 3
    failed.assert_not_released()
    raised = await run_job(FakesRateLimited, user_id=0)
    raised.assert_raised(ValueError, match="no user 0")
    with pytest.raises(AssertionError, match="to fail itself, but it raised ValueError"):
        raised.assert_failed()


async def test_run_job_runs_middleware_and_sync_handles_with_a_fake_queue() -> None:
    with fake() as queue:
        (await run_job(FakesThrottled, user_id=7)).assert_released(delay=5)
        (await run_job(FakesThrottled, user_id=8)).assert_completed()
        (await run_job(FakesWelcomeEmail, user_id=9)).assert_completed()
    queue.assert_pushed(FakesAudit, lambda p: p.user_id == 8)
    queue.assert_pushed(FakesAudit, lambda p: p.user_id == 9)
    queue.assert_not_pushed(FakesAudit, lambda p: p.user_id == 7)


class FakesSlow(Job[Welcome]):
    timeout = 0.2
    tries = 2
    failed_with: list[str] = []

    async def handle(self, payload: Welcome) -> None:
        await asyncio.sleep(30)

    async def failed(self, payload: Welcome, error: BaseException) -> None:
        FakesSlow.failed_with.append(type(error).__name__)


async def test_run_job_runs_the_workers_pipeline_with_its_timeout_and_failed_hook() -> None:
    # The job's timeout ends the attempt, as in a worker; not the last attempt: no hook.
    first = await run_job(FakesSlow, user_id=1)
    first.assert_raised(TimeoutError)
    assert FakesSlow.failed_with == []
    # The last attempt ends in the failed store, so the ``failed`` hook runs.
    (await run_job(FakesSlow, user_id=1, attempt=2)).assert_raised(TimeoutError)
    assert FakesSlow.failed_with == ["TimeoutError"]


def test_run_job_blocking_in_a_sync_test() -> None:
    run_job_blocking(FakesRateLimited, user_id=12).assert_released(delay=30)


# -- the pytest plugin's fixtures ----------------------------------------------------------
async def test_gello_fake_fixture_in_an_async_test(gello_fake: FakeQueue) -> None:
    assert default_queue() is gello_fake
    await FakesWelcomeEmail.dispatch(user_id=1)
    gello_fake.assert_pushed_on("emails", FakesWelcomeEmail)


def test_gello_fake_fixture_in_a_sync_test(gello_fake: FakeQueue) -> None:
    gello_fake.assert_nothing_pushed()
    FakesWelcomeEmail.dispatch_blocking(user_id=1)
    gello_fake.assert_pushed(FakesWelcomeEmail, 1)


async def test_gello_queue_fixture_drains_jobs_and_the_jobs_they_dispatch(
    gello_queue: QueueHarness,
) -> None:
    await FakesWelcomeEmail.dispatch(user_id=1)
    await FakesWelcomeEmail.dispatch(user_id=2, delay=3600)
    await FakesFlaky.dispatch(user_id=3)
    await gello_queue.drain()
    gello_queue.assert_processed(FakesWelcomeEmail, 2)
    gello_queue.assert_processed(FakesAudit, 2)
    assert [e.name for e in gello_queue.failed] == ["FakesFlaky"]
    assert len(gello_queue.retried) == 1
    assert await gello_queue.queue.size("emails") == 0
    with pytest.raises(AssertionError, match=r"FakesRateLimited completed 0 time\(s\)"):
        gello_queue.assert_processed(FakesRateLimited)


async def test_gello_queue_fixture_drains_batches_and_chains_to_completion(
    gello_queue: QueueHarness,
) -> None:
    await Batch(
        [FakesAudit.make(user_id=i) for i in range(3)]
        + [Chain([FakesAudit.make(user_id=10), FakesThrottled.make(user_id=11)])],
        then=FakesAudit.make(user_id=100),
        finally_=FakesRateLimited.make(user_id=1),
    ).dispatch()
    await Chain(
        [
            FakesAudit.make(user_id=20),
            Batch([FakesAudit.make(user_id=21), FakesWelcomeEmail.make(user_id=22)]),
            FakesRateLimited.make(user_id=2).delay(3600),
        ]
    ).dispatch()
    await gello_queue.drain()
    # The batch: 3 + 2 links (FakesThrottled dispatches one FakesAudit), then, finally.
    # The chain: 1, a batch of 2 (FakesWelcomeEmail dispatches a FakesAudit), a delayed link.
    gello_queue.assert_processed(FakesAudit, 3 + 1 + 1 + 1 + 1 + 1 + 1)
    gello_queue.assert_processed(FakesThrottled, 1)
    gello_queue.assert_processed(FakesWelcomeEmail, 1)
    gello_queue.assert_processed(FakesRateLimited, 2)
    assert gello_queue.failed == []
    assert await (await gello_queue.queue.driver()).counts() == {}


class FakesGreeting(Job[Welcome]):
    keep_result = 60

    async def handle(self, payload: Welcome) -> dict[str, str]:
        return {"hello": f"user {payload.user_id}"}


async def test_results_of_drained_jobs_are_there_to_read(gello_queue: QueueHarness) -> None:
    job_id = await FakesGreeting.dispatch(user_id=5)
    await gello_queue.drain()
    assert await gello_queue.queue.result(job_id, timeout=1) == {"hello": "user 5"}
    assert await FakesGreeting.result(job_id, timeout=1) == {"hello": "user 5"}


def test_gello_queue_fixture_in_a_sync_test(gello_queue: QueueHarness) -> None:
    FakesThrottled.dispatch_blocking(user_id=8)
    gello_queue.drain_blocking()
    assert gello_queue.processed_names() == ["FakesThrottled", "FakesAudit"]


def test_the_plugin_is_registered_for_other_projects(tmp_path: Path) -> None:
    (tmp_path / "test_app.py").write_text(
        textwrap.dedent(
            """
            from pydantic import BaseModel
            from gello_queue import Job

            class P(BaseModel):
                n: int

            class PluginJob(Job[P]):
                async def handle(self, payload: P) -> None:
                    pass

            def test_pushed(gello_fake):
                PluginJob.dispatch_blocking(n=1)
                gello_fake.assert_pushed(PluginJob, lambda p: p.n == 1)

            def test_wrong_expectation(gello_fake):
                PluginJob.dispatch_blocking(n=1)
                gello_fake.assert_pushed(PluginJob, lambda p: p.n == 2)

            def test_drained(gello_queue):
                PluginJob.dispatch_blocking(n=1)
                gello_queue.drain_blocking()
                gello_queue.assert_processed(PluginJob, 1)
            """
        )
    )
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_app.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "1 failed, 2 passed" in out.stdout, out.stdout + out.stderr
    assert "PluginJob was not pushed matching the given condition" in out.stdout
    assert "PluginJob on 'default' {'n': 1}" in out.stdout


def test_the_fake_records_a_made_job_pushed_as_a_real_queue_takes_it(
    gello_fake: FakeQueue,
) -> None:
    gello_fake.push_blocking(FakesWelcomeEmail.make(user_id=1))
    gello_fake.push_on_blocking("urgent", FakesWelcomeEmail.make(user_id=2))
    gello_fake.later_blocking(60, FakesWelcomeEmail.make(user_id=3))
    gello_fake.assert_pushed(FakesWelcomeEmail, 3)
    gello_fake.assert_pushed_on("urgent", FakesWelcomeEmail)


class FakesReport(Job[Welcome]):
    async def handle(self, payload: Welcome) -> None:
        await self.progress(0.5, "half")
        await self.progress(1.0)


class FakesBlockingReport(Job[Welcome]):
    def handle(self, payload: Welcome) -> None:  # type: ignore[override]
        self.progress_blocking(0.25, f"user {payload.user_id}")


async def test_the_fake_records_progress_of_a_handle_called_directly() -> None:
    with fake() as queue:
        await FakesReport().handle(Welcome(user_id=1))
        FakesBlockingReport().handle(Welcome(user_id=2))
    assert queue.progress_of(FakesReport) == [(0.5, "half"), (1.0, None)]
    assert queue.progress_of("FakesBlockingReport") == [(0.25, "user 2")]
    queue.assert_progressed(FakesReport, 1.0)
    with pytest.raises(AssertionError, match=r"ending at 0.5\. Reported: \[\(0.5, 'half'\)"):
        queue.assert_progressed(FakesReport, 0.5)
    with pytest.raises(AssertionError, match="FakesAudit did not report progress"):
        queue.assert_progressed(FakesAudit)
    # Restored: a later direct call records nowhere (and does not fail).
    await FakesReport().handle(Welcome(user_id=3))
    assert len(queue.progress_calls) == 3
