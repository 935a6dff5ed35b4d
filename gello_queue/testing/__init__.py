"""Test fakes for an application's own test suite, as Laravel's ``Queue::fake()``.

Record dispatches instead of queueing them, then assert on what was pushed::

    from gello_queue import testing

    def test_signup_sends_the_welcome_email() -> None:
        with testing.fake() as queue:          # or testing.fake(SendWelcomeEmail)
            signup("ada@example.com")
        queue.assert_pushed(SendWelcomeEmail, lambda p: p.email == "ada@example.com")
        queue.assert_pushed_on("emails", SendWelcomeEmail)
        queue.assert_not_pushed(ChargeCard)

Run one job's ``handle`` (with its ``before``, middleware and ``after``) and assert what
it did with itself::

    run = await testing.run_job(SyncInvoice, invoice_id=7)   # run_job_blocking in sync tests
    run.assert_released(delay=30)

Batches and chains dispatched against the fake are recorded, not run::

    queue.assert_batched(lambda batch: batch.name == "import" and len(batch.jobs) == 10)
    queue.assert_chained([Fetch, Resize.make(width=200), Publish])
    queue.assert_pushed_without_chain(Fetch)
"""

from gello_queue.testing.fakes import FakeQueue, fake
from gello_queue.testing.harness import QueueHarness
from gello_queue.testing.records import PushedChain, PushedJob
from gello_queue.testing.run_job import JobRun, run_job, run_job_blocking

__all__ = [
    "FakeQueue",
    "JobRun",
    "PushedChain",
    "PushedJob",
    "QueueHarness",
    "fake",
    "run_job",
    "run_job_blocking",
]
