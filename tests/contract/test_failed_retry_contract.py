"""Every driver puts a retried failed job back as core builds it
(``core.failed_retry.rebuild_retried``): the Lua and SQL copies of the rule, and the
brokers' republishing, are held to it."""

from __future__ import annotations

import time

from helpers import envelope, eventually

from gello_queue.core.envelope import Envelope
from gello_queue.core.failed_retry import rebuild_retried
from gello_queue.ports import FailedJob, Failure, QueueDriver, Reservation

W = "w"


async def reserve_one(driver: QueueDriver, queue: str) -> Reservation:
    batch = await eventually(lambda: driver.reserve([queue], 1, lease_s=30, worker_id=W), bool)
    return batch[0]


async def test_a_retried_job_goes_back_as_core_builds_it(driver: QueueDriver) -> None:
    now = await driver.now()
    env = envelope(
        "mail", priority=3, max_attempts=2, created_at=now - 100, unique_key="r", payload={"n": 7}
    )
    await driver.push([env])
    res = await reserve_one(driver, "mail")
    ran = env.with_changes(attempts=res.attempts, reason="smtp down")
    assert await driver.fail(res, ran.encode().decode(), Failure("RuntimeError", "smtp down"))
    failed = await driver.failed_find(env.id)
    assert failed is not None

    before = await driver.now()
    assert await driver.failed_retry([env.id]) == 1
    after = await driver.now()
    again = await reserve_one(driver, "mail")
    back = Envelope.decode(again.body)
    assert before <= back.available_at <= after
    built = rebuild_retried(failed.id, failed.queue, failed.name, failed.body, back.available_at)
    assert back == built.envelope
    assert (again.id, again.queue, again.attempts) == (built.id, built.queue, built.attempts + 1)
    # It does not take its unique key again.
    other = envelope("mail", unique_key="r")
    assert await driver.push([other]) == [other.id]


async def test_a_retried_body_that_is_no_envelope_goes_back_as_it_was(
    driver: QueueDriver,
) -> None:
    raw = "not an envelope {"
    record = FailedJob("poison-1", "mail", "?", raw, "EnvelopeError", "bad", "", time.time(), 1)
    assert await driver.failed_import([record]) == 1
    assert await driver.failed_retry([record.id]) == 1
    again = await reserve_one(driver, "mail")
    built = rebuild_retried(record.id, record.queue, record.name, record.body, 0.0)
    body = again.body if isinstance(again.body, str) else again.body.decode()
    assert (again.id, again.queue, body) == (built.id, built.queue, built.body)
    assert again.attempts == built.attempts + 1


async def test_a_record_goes_back_to_the_queue_the_failed_store_lists_it_under(
    driver: QueueDriver,
) -> None:
    # An imported record may name another queue than its envelope (moved between
    # deployments): it is listed, counted and retried under the record's queue.
    env = envelope("elsewhere", name="Mailer", reason="smtp down")
    body = env.encode().decode()
    record = FailedJob(env.id, "mail", "Mailer", body, "E", "m", "", time.time(), 3)
    assert await driver.failed_import([record]) == 1
    assert await driver.failed_retry_all("mail") == 1
    again = await reserve_one(driver, "mail")
    back = Envelope.decode(again.body)
    built = rebuild_retried(record.id, record.queue, record.name, record.body, back.available_at)
    assert back == built.envelope
    assert (again.id, again.queue, again.attempts) == (built.id, "mail", 1)
