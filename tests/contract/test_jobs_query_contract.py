"""Conformance of the queued-job queries (the ``JobQueries`` port) every driver that lists
jobs runs in its backend: each filter part, true counts, cursor pages that read every job
once, and bulk cancel and promote in steps."""

from __future__ import annotations

import time
from typing import Any

import pytest
from helpers import envelope

from gello_queue.core.job_query import JobPage
from gello_queue.core.states import JobState
from gello_queue.ports import Capability, FailedQuery, JobQueries, QueueDriver


def queries(driver: QueueDriver) -> JobQueries:
    """The driver as ``JobQueries``: every driver that lists jobs has the port."""
    if Capability.LIST_JOBS not in driver.capabilities:
        pytest.skip(f"the {driver.name} driver cannot list jobs")
    assert isinstance(driver, JobQueries)
    return driver


async def listed(
    driver: JobQueries, state: JobState, query: FailedQuery, page: int = 7
) -> list[str]:
    """Every id the query selects, read page by page by cursor."""
    out: list[str] = []
    cursor = None
    while True:
        found: JobPage = await driver.jobs_search(state, query, limit=page, cursor=cursor)
        out += [j.id for j in found.jobs]
        if found.cursor is None:
            return out
        cursor = found.cursor


async def push(driver: QueueDriver, queue: str, name: str, n: int, **fields: Any) -> list[str]:
    envs = [envelope(queue, name=name, **fields) for _ in range(n)]
    return await driver.push(envs)


async def test_each_filter_part_selects_and_counts(driver: QueueDriver) -> None:
    jq = queries(driver)
    now = time.time()
    old = await push(driver, "emails", "SendInvoice", 4, created_at=now - 7200)
    new = await push(driver, "emails", "SendInvoice", 3, created_at=now - 60)
    hooks = await push(driver, "webhooks", "PostWebhook", 5, payload={"url": "https://Acme.test"})
    later = await push(driver, "emails", "SendReceipt", 2, available_at=now + 3600)

    cases = {
        FailedQuery(): old + new + hooks,
        FailedQuery(queue="webhooks"): hooks,
        FailedQuery(name="invoice"): old + new,
        FailedQuery(name="INVOICE", queue="webhooks"): [],
        FailedQuery(text="acme.TEST"): hooks,
        FailedQuery(text=hooks[1][-12:]): [hooks[1]],
        FailedQuery(before=now - 3600): old,
        FailedQuery(after=now - 3600, name="invoice"): new,
        FailedQuery(exception="Timeout"): [],
        FailedQuery(fingerprint="abc"): [],
    }
    for query, expected in cases.items():
        assert sorted(await listed(jq, JobState.PENDING, query)) == sorted(expected), query
        tally = await jq.jobs_tally(JobState.PENDING, query)
        assert (tally.count, tally.complete) == (len(expected), True), query
    assert sorted(await listed(jq, JobState.SCHEDULED, FailedQuery(name="receipt"))) == sorted(
        later
    )
    assert (await jq.jobs_tally(JobState.SCHEDULED, FailedQuery())).count == 2


async def test_pages_read_every_job_once(driver: QueueDriver) -> None:
    jq = queries(driver)
    ids = await push(driver, "emails", "A", 23) + await push(driver, "sms", "B", 11)
    got = await listed(jq, JobState.PENDING, FailedQuery(), page=5)
    assert sorted(got) == sorted(ids)
    assert len(got) == len(set(got))
    first = await jq.jobs_search(JobState.PENDING, FailedQuery(), limit=34)
    assert (len(first.jobs), first.cursor) == (34, None)


async def test_jobs_at_one_time_are_paged_through_once(driver: QueueDriver) -> None:
    jq = queries(driver)
    at = time.time() - 1
    ids = await push(driver, "emails", "Tie", 30, available_at=at, created_at=at)
    later = await push(driver, "emails", "Tie", 2, available_at=at + 3600, created_at=at)
    got = await listed(jq, JobState.PENDING, FailedQuery(name="tie"), page=4)
    assert sorted(got) == sorted(ids)
    assert len(got) == len(set(got))
    assert sorted(await listed(jq, JobState.SCHEDULED, FailedQuery(), page=1)) == sorted(later)


async def test_cancel_steps_delete_what_the_filter_selects(driver: QueueDriver) -> None:
    jq = queries(driver)
    doomed = await push(driver, "emails", "SendInvoice", 9)
    kept = await push(driver, "emails", "SendReceipt", 4)
    scheduled = await push(driver, "emails", "SendInvoice", 2, available_at=time.time() + 3600)
    running = await driver.reserve(["emails"], 1, lease_s=60, worker_id="w-1")
    query = FailedQuery(name="invoice")
    done, cursor, steps = 0, None, 0
    while True:
        step = await jq.jobs_cancel_step(JobState.PENDING, query, limit=4, cursor=cursor)
        done, cursor, steps = done + step.done, step.cursor, steps + 1
        if cursor is None:
            break
    # The reserved job was the oldest invoice: it is running, and not cancelled.
    assert running[0].id == doomed[0]
    assert done == len(doomed) - 1
    assert steps >= 2
    assert sorted(await listed(jq, JobState.PENDING, FailedQuery())) == sorted(kept)
    assert await driver.find(doomed[1]) is None
    assert await driver.find(doomed[0]) is not None
    assert (await jq.jobs_tally(JobState.SCHEDULED, query)).count == len(scheduled)
    step = await jq.jobs_cancel_step(JobState.RESERVED, FailedQuery())
    assert step.done == 0


async def test_promote_steps_make_scheduled_jobs_pending(driver: QueueDriver) -> None:
    jq = queries(driver)
    later = time.time() + 3600
    picked = await push(driver, "emails", "Report", 7, available_at=later)
    other = await push(driver, "sms", "Report", 3, available_at=later)
    done, cursor = 0, None
    while True:
        step = await jq.jobs_promote_step(FailedQuery(queue="emails"), limit=3, cursor=cursor)
        done, cursor = done + step.done, step.cursor
        if cursor is None:
            break
    assert done == len(picked)
    assert sorted(await listed(jq, JobState.PENDING, FailedQuery())) == sorted(picked)
    assert sorted(await listed(jq, JobState.SCHEDULED, FailedQuery())) == sorted(other)
    got = await driver.reserve(["emails"], 10, lease_s=60, worker_id="w-1")
    assert sorted(r.id for r in got) == sorted(picked)


async def test_a_tag_selects_the_queued_jobs_carrying_it_exactly(driver: QueueDriver) -> None:
    jq = queries(driver)
    mine = await push(driver, "emails", "SendInvoice", 3, tags=["billing", "customer:42"])
    await push(driver, "emails", "SendInvoice", 1, tags=["customer:420"])
    await push(driver, "emails", "SendInvoice", 1, tags=["Customer:42"])
    await push(driver, "emails", "SendInvoice", 1, payload={"note": "customer:42 asked"})
    query = FailedQuery(tag="customer:42")
    assert sorted(await listed(jq, JobState.PENDING, query)) == sorted(mine)
    assert (await jq.jobs_tally(JobState.PENDING, query)).count == 3
    step = await jq.jobs_cancel_step(JobState.PENDING, query, limit=100)
    assert step.done == 3
    assert (await jq.jobs_tally(JobState.PENDING, FailedQuery())).count == 3
