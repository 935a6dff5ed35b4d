"""Conformance of the failed-store queries every driver runs in its backend: each filter
field, counts, groups over the whole store, cursor pages while failures arrive, and
bulk retry and purge in steps that can stop between them."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from helpers import envelope, eventually

from gello_queue.core.failed_query import fingerprint
from gello_queue.ports import FailedJob, FailedQuery, QueueDriver

# What the sync connection stores, it stores like any driver.
pytestmark = pytest.mark.inline_too

T0 = 1_700_000_000.0
_clock = itertools.count(1)


def record(
    queue: str = "emails",
    name: str = "SendInvoice",
    exception: str = "TimeoutError",
    message: str = "smtp timed out after 30s",
    *,
    at: float | None = None,
    payload: dict[str, Any] | None = None,
    **fields: Any,
) -> FailedJob:
    env = envelope(queue, name=name, max_attempts=3, payload=payload or {"n": 1})
    return FailedJob(
        id=env.id,
        queue=queue,
        name=name,
        body=env.encode().decode(),
        exception=exception,
        message=message,
        traceback="Traceback ...",
        failed_at=at if at is not None else T0 + next(_clock),
        attempts=3,
        **fields,
    )


async def listed(driver: QueueDriver, query: FailedQuery, page: int = 7) -> list[str]:
    """Every id the query selects, newest first, read page by page by cursor."""
    out: list[str] = []
    cursor = None
    while True:
        found = await driver.failed_search(query, limit=page, cursor=cursor)
        out += [f.id for f in found.jobs]
        if found.cursor is None:
            return out
        cursor = found.cursor


async def test_each_filter_field_selects_and_counts(driver: QueueDriver) -> None:
    invoices = [record(message=f"smtp timed out after {n}s") for n in range(4)]
    hooks = [record("webhooks", "PostWebhook", "HTTPError", f"503 from hook {n}") for n in range(3)]
    receipts = [
        record("emails", "SendReceipt", "KeyError", "'user' missing", payload={"to": "Ann@x.org"})
        for _ in range(2)
    ]
    everything = invoices + hooks + receipts
    assert await driver.failed_import(everything) == 9

    def newest(rows: list[FailedJob]) -> list[str]:
        return [r.id for r in sorted(rows, key=lambda r: r.failed_at, reverse=True)]

    cases = {
        FailedQuery(): everything,
        FailedQuery(queue="webhooks"): hooks,
        FailedQuery(name="invoice"): invoices,
        FailedQuery(exception="keyerr"): receipts,
        FailedQuery(text="503 FROM"): hooks,
        FailedQuery(text=invoices[2].id[-12:]): [invoices[2]],
        FailedQuery(fingerprint=fingerprint(invoices[0])): invoices,
        FailedQuery(after=hooks[0].failed_at): hooks + receipts,
        FailedQuery(before=hooks[0].failed_at): invoices,
        FailedQuery(queue="emails", after=invoices[2].failed_at): invoices[2:] + receipts,
        FailedQuery(queue="emails", exception="timeout", text="after"): invoices,
        FailedQuery(name="nothing-like-it"): [],
        FailedQuery(queue="webhooks", name="invoice"): [],
        # Free text reaches the stored body: the payload of envelope() holds "n".
        FailedQuery(text="ann@X.ORG"): receipts,
    }
    for query, expected in cases.items():
        assert await listed(driver, query) == newest(expected), query
        tally = await driver.failed_tally(query)
        assert (tally.count, tally.complete) == (len(expected), True), query


async def test_groups_cover_the_whole_store(driver: QueueDriver) -> None:
    # The oldest group lies wholly behind the newest 5,000 failures.
    old = [record("emails", "Old", "ValueError", f"bad row {n}") for n in range(1_000)]
    many = [record("emails", "SendInvoice", "TimeoutError", f"after {n}s") for n in range(3_500)]
    hooks = [record("webhooks", "PostWebhook", "HTTPError", f"503 #{n}") for n in range(1_600)]
    mixed = [r for pair in itertools.zip_longest(many, hooks) for r in pair if r is not None]
    assert await driver.failed_import(old + mixed) == 6_100

    groups = await driver.failed_groups(FailedQuery())
    got = [(g.name, g.exception, g.count, g.queues) for g in groups]
    assert got == [
        ("SendInvoice", "TimeoutError", 3_500, ["emails"]),
        ("PostWebhook", "HTTPError", 1_600, ["webhooks"]),
        ("Old", "ValueError", 1_000, ["emails"]),
    ]
    oldest = groups[2]
    assert oldest.fingerprint == fingerprint(old[0])
    assert oldest.newest_at == old[-1].failed_at
    assert oldest.message.startswith("bad row ")
    assert [g.count for g in await driver.failed_groups(FailedQuery(queue="emails"))] == [
        3_500,
        1_000,
    ]
    assert await driver.failed_groups(FailedQuery(name="webhook")) == [groups[1]]
    assert (await driver.failed_tally(FailedQuery(fingerprint=oldest.fingerprint))).count == 1_000


async def test_cursor_pages_neither_repeat_nor_skip_while_failures_arrive(
    driver: QueueDriver,
) -> None:
    there = [record(name="Report") for _ in range(40)]
    await driver.failed_import(there + [record(name="Other") for _ in range(10)])
    query = FailedQuery(name="report")
    seen: list[str] = []
    cursor = None
    while True:
        page = await driver.failed_search(query, limit=7, cursor=cursor)
        seen += [f.id for f in page.jobs]
        # New failures land before the cursor: the pages still to come do not move.
        await driver.failed_import([record(name="Report") for _ in range(3)])
        if page.cursor is None:
            break
        cursor = page.cursor
    assert seen == [r.id for r in reversed(there)]


async def test_a_bulk_purge_of_a_filter_goes_in_steps(driver: QueueDriver) -> None:
    doomed = [record("emails", "Nightly", "OSError", "disk full") for _ in range(250)]
    kept = [record("emails", "SendInvoice") for _ in range(50)]
    await driver.failed_import(doomed + kept)
    query = FailedQuery(name="nightly")
    steps = []
    cursor = None
    while True:
        step = await driver.failed_purge_step(query, limit=100, cursor=cursor)
        steps.append(step.done)
        if step.cursor is None:
            break
        cursor = step.cursor
    assert sum(steps) == 250
    assert max(steps) <= 100
    assert len(steps) >= 3
    assert (await driver.failed_tally(query)).count == 0
    assert await listed(driver, FailedQuery()) == [r.id for r in reversed(kept)]


async def test_a_bulk_retry_stopped_between_steps_loses_nothing(driver: QueueDriver) -> None:
    back = [record("reports", "Rebuild", "KeyError", "missing key 'x'") for _ in range(250)]
    await driver.failed_import(back + [record("emails") for _ in range(20)])
    query = FailedQuery(queue="reports")
    first = await driver.failed_retry_step(query, limit=100)
    second = await driver.failed_retry_step(query, limit=100, cursor=first.cursor)
    assert (first.done, second.done) == (100, 100)
    # Stopped here: the retried jobs are retried, the others still failed.
    left = await listed(driver, query)
    assert left == [r.id for r in reversed(back[:50])]
    rest = 0
    cursor = None
    while True:  # a new run of the action takes what is left
        step = await driver.failed_retry_step(query, limit=100, cursor=cursor)
        rest += step.done
        if step.cursor is None:
            break
        cursor = step.cursor
    assert rest == 50
    assert (await driver.failed_tally(query)).count == 0
    assert (await driver.failed_tally(FailedQuery())).count == 20
    # Every retried job waits on its queue again: none was lost on the way.
    await eventually(
        lambda: driver.counts(), lambda c: "reports" in c and c["reports"].pending == 250
    )


@pytest.mark.timeout(60)
async def test_a_job_the_backend_failed_on_its_own_is_grouped_and_found(
    driver: QueueDriver,
) -> None:
    if driver.name == "sync":
        pytest.skip("the sync connection leases nothing, so no lease runs out")
    env = envelope("reports", name="Rebuild", max_attempts=1)
    await driver.push([env])
    [res] = await eventually(lambda: driver.reserve(["reports"], 1, lease_s=0.3, worker_id="w"))
    assert res.id == env.id
    rescued = await eventually(driver.rescue, lambda r: bool(r.failed))
    assert rescued.failed == [env.id]
    # The failure was stored by the backend alone (Redis script, PostgreSQL statement):
    # it is fingerprinted by the next query, like any other.
    [group] = await driver.failed_groups(FailedQuery(queue="reports"))
    assert (group.name, group.count, group.queues) == ("Rebuild", 1, ["reports"])
    [job] = (await driver.failed_search(FailedQuery(fingerprint=group.fingerprint))).jobs
    assert job.id == env.id
    assert group.fingerprint == fingerprint(job)


async def test_a_tag_selects_the_failed_jobs_carrying_it_exactly(driver: QueueDriver) -> None:
    def tagged(tags: list[str], **payload: Any) -> FailedJob:
        env = envelope("emails", name="SendInvoice", tags=tags, payload=payload or {"n": 1})
        return FailedJob(
            id=env.id, queue="emails", name="SendInvoice", body=env.encode().decode(),
            exception="TimeoutError", message="timed out", traceback="",
            failed_at=T0 + next(_clock), attempts=1,
        )  # fmt: skip

    mine = [tagged(["billing", "customer:42"]) for _ in range(3)]
    others = [
        tagged(["customer:420"]),  # a longer tag that starts the same
        tagged(["Customer:42"]),  # another case
        tagged([], note="customer:42 asked"),  # the words in a payload, not a tag
    ]
    await driver.failed_import(mine + others)
    query = FailedQuery(tag="customer:42")
    assert sorted(await listed(driver, query)) == sorted(j.id for j in mine)
    assert (await driver.failed_tally(query)).count == 3
    assert sum(g.count for g in await driver.failed_groups(query)) == 3
    assert await listed(driver, FailedQuery(tag="customer:42", queue="webhooks")) == []
    step = await driver.failed_purge_step(query, limit=100)
    assert step.done == 3
    assert (await driver.failed_tally(FailedQuery())).count == 3
