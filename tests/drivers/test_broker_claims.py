"""Unique-key claims of broker jobs, on every kind of store (memory, SQLite, PostgreSQL):
who holds a key, what a debounce supersedes, which arriving jobs may run."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Sequence

import pytest
from backends import BACKENDS
from helpers import envelope

from gello_queue.core.envelope import Envelope
from gello_queue.core.states import JobState
from gello_queue.drivers.broker_buffer import Arrival
from gello_queue.drivers.broker_claims import marker_envelope, marker_queue
from gello_queue.drivers.composite import StoreBacked, store_failed
from gello_queue.ports import Failure, QueueCounts, QueueDriver

STORES = ["memory", "postgres", "sqlite"]


class Claims(StoreBacked):
    """The store-backed half of a broker driver, on a broker that takes every message
    (``published``), or refuses every one (``refusing``)."""

    def __init__(self, store: QueueDriver, *, refusing: bool = False) -> None:
        self.store = store
        self.refusing = refusing
        self.published: list[Envelope] = []

    def _publish_new(self, envelopes: Sequence[Envelope]) -> Awaitable[None]:
        async def publish() -> None:
            if self.refusing:
                raise ConnectionError("the broker is gone")
            self.published.extend(envelopes)

        return publish()


@pytest.fixture(params=STORES)
async def claims(request: pytest.FixtureRequest) -> AsyncIterator[Claims]:
    async with BACKENDS[request.param](request) as store:
        yield Claims(store)


def arrival(env: Envelope, *, started: bool = False) -> Arrival:
    mode = env.unique_mode or ("processed" if env.unique_key else None)
    return Arrival(env.id, env.queue, env.available_at, 1, 3, mode, started)


def debounced(delay_s: float, **fields: object) -> Envelope:
    return envelope(
        unique_key="d", unique_mode="debounce", available_at=time.time() + delay_s, **fields
    )


async def test_a_plain_unique_key_folds_until_its_job_ends(claims: Claims) -> None:
    a, b = envelope(unique_key="k"), envelope(unique_key="k")
    assert (await claims.claim_unique([a])).holders == {a.id: a.id}
    found = await claims.claim_unique([b])
    assert found.holders == {b.id: a.id}
    assert not found.sends(b)
    assert await claims.claims_held([arrival(a), arrival(envelope())]) == [True, True]
    await claims.end_claims([(a.id, "processed")])
    assert (await claims.claim_unique([b])).holders == {b.id: b.id}


async def test_a_debounce_supersedes_the_waiting_holder(claims: Claims) -> None:
    first, second = debounced(60, payload={"n": 1}), debounced(60, payload={"n": 2})
    assert (await claims.claim_unique([first])).sends(first)
    found = await claims.claim_unique([second])
    assert found.sends(second)
    assert found.superseded == set()  # first was sent by an earlier push: marked instead
    stored = await claims.store_counts()
    assert stored[marker_queue("default")].scheduled == 1
    broker = {"default": QueueCounts(scheduled=2)}  # both messages wait on the broker
    assert claims.with_store(broker, stored)["default"] == QueueCounts(scheduled=1)
    assert await claims.claims_held([arrival(first), arrival(second)]) == [False, True]
    assert await claims.find_claimed(first.id) is None
    record = await claims.find_claimed(second.id)
    assert record is not None
    assert (record.queue, record.state) == ("default", JobState.SCHEDULED)
    assert Envelope.decode(record.body).payload == {"n": 2}
    await claims.end_claims([(first.id, "debounce")])  # dropped: its marker goes
    assert marker_queue("default") not in await claims.store_counts()


async def test_one_push_sends_only_the_last_of_its_debounces(claims: Claims) -> None:
    envs = [debounced(1, payload={"n": i}) for i in range(3)]
    found = await claims.claim_unique(envs)
    assert [found.sends(e) for e in envs] == [False, False, True]
    assert found.superseded == {envs[0].id, envs[1].id}
    assert marker_queue("default") not in await claims.store_counts()


async def test_a_push_publishes_the_jobs_holding_their_keys(claims: Claims) -> None:
    first, plain = envelope(unique_key="k"), envelope()
    assert await claims.push([first, plain]) == [first.id, plain.id]
    folded = envelope(unique_key="k")
    assert await claims.push([folded]) == [first.id]  # the key's holder, not sent
    assert claims.published == [first, plain]


async def test_a_refused_publish_frees_the_keys_it_claimed(claims: Claims) -> None:
    refused, plain = envelope(unique_key="k"), envelope()
    with pytest.raises(ConnectionError):
        await Claims(claims.store, refusing=True).push([refused, plain])
    again = envelope(unique_key="k")
    assert await claims.push([again]) == [again.id]
    assert claims.published == [again]


async def test_until_processing_frees_the_key_when_the_job_starts(claims: Claims) -> None:
    a = envelope(unique_key="p", unique_mode="processing")
    b = envelope(unique_key="p", unique_mode="processing")
    await claims.claim_unique([a])
    assert (await claims.claim_unique([b])).holders == {b.id: a.id}
    assert await claims.claims_held([arrival(a)]) == [True]  # its claim went as it started
    assert (await claims.claim_unique([b])).holders == {b.id: b.id}
    # Back after a release or a redelivery, it runs without its claim; never started, it
    # was cancelled.
    assert await claims.claims_held([arrival(a, started=True), arrival(a)]) == [True, False]


async def test_cancelling_a_waiting_unique_job_deletes_its_claim(claims: Claims) -> None:
    job = envelope(unique_key="c")
    await claims.claim_unique([job])
    assert await claims.cancel_claimed(job.id) is True
    assert await claims.cancel_claimed(envelope().id) is None
    assert await claims.claims_held([arrival(job)]) == [False]
    again = envelope(unique_key="c")
    assert (await claims.claim_unique([again])).sends(again)


async def test_markers_long_past_due_are_swept(claims: Claims) -> None:
    stale = envelope(available_at=time.time() - 7200)
    await claims.store.push([marker_envelope(envelope().id, stale)])
    fresh = envelope(available_at=time.time() - 60)
    await claims.store.push([marker_envelope(envelope().id, fresh)])
    assert await claims.sweep_markers() == 1
    assert await claims.sweep_markers() == 0  # not again so soon
    assert (await claims.store_counts())[marker_queue("default")].pending == 1


async def test_a_failure_recorded_again_replaces_the_older_record(claims: Claims) -> None:
    # A retried job that fails again (its old record not yet forgotten): the store keeps
    # one record, the newest.
    env = envelope()
    body = env.encode().decode()
    for message in ("first", "second"):
        await store_failed(
            claims.store,
            job_id=env.id,
            queue="default",
            body=body,
            failure=Failure("RuntimeError", message, ""),
            attempts=1,
        )
    found = await claims.store.failed_find(env.id)
    assert found is not None
    assert (found.message, found.name) == ("second", env.name)
    assert await claims.store.failed_count() == 1
