"""SQS-specific behaviour against moto's server: long delays that hop, FIFO queues,
visibility as the lease, queues per priority level, secrets and URLs (what the brokers
share is in test_broker_common and test_broker_jobs)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from backends import sqs as sqs_backend
from helpers import envelope, eventually

from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import ConfigurationError
from gello_queue.drivers import factory_from_url
from gello_queue.drivers.sqlite import SqliteDriver
from gello_queue.drivers.sqs import SqsDriver, SqsOptions, options_from_url
from gello_queue.drivers.sqs import send as sqs_send
from gello_queue.drivers.sqs.names import Naming
from gello_queue.drivers.sqs.receive import visibility_s
from gello_queue.ports import Reservation

W = "worker-1"


@pytest.fixture
async def driver(request: pytest.FixtureRequest) -> AsyncIterator[SqsDriver]:
    async with sqs_backend.open_driver(request) as opened:
        yield opened


async def test_a_delay_longer_than_sqs_allows_hops_until_due(
    driver: SqsDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqs_send, "MAX_DELAY_S", 1)  # 15 minutes, scaled down
    env = envelope(available_at=time.time() + 2.5, max_attempts=1)
    await driver.push([env])
    [res] = await eventually(
        lambda: driver.reserve(["default"], 1, lease_s=30, worker_id=W), timeout_s=15
    )
    assert res.id == env.id
    assert time.time() >= env.available_at
    assert res.attempts == 1  # the early receives were hops, not attempts


async def test_fifo_queue_takes_jobs_and_unique_keys(driver: SqsDriver) -> None:
    assert driver.is_fifo("orders.fifo")
    first = envelope("orders.fifo", unique_key="order:7")
    again = envelope("orders.fifo", unique_key="order:7")
    plain = envelope("orders.fifo")
    assert await driver.push([first, again, plain]) == [first.id, first.id, plain.id]
    got = await eventually(lambda: driver.reserve(["orders.fifo"], 10, lease_s=30, worker_id=W))
    assert {r.id for r in got} <= {first.id, plain.id}
    assert await driver.ack(got) == []
    later = envelope("orders.fifo", unique_key="order:7")
    if first.id in {r.id for r in got}:  # completed: its key can be used again at once
        assert await driver.push([later]) == [later.id]


async def test_a_delayed_fifo_job_is_hidden_until_due_without_using_an_attempt(
    driver: SqsDriver,
) -> None:
    env = envelope("later.fifo", available_at=time.time() + 1.2, max_attempts=1)
    await driver.push([env])
    assert await driver.reserve(["later.fifo"], 1, lease_s=30, worker_id=W) == []
    [res] = await eventually(
        lambda: driver.reserve(["later.fifo"], 1, lease_s=30, worker_id=W), timeout_s=10
    )
    assert (res.id, res.attempts) == (env.id, 1)  # the hiding receive was no attempt
    assert time.time() >= env.available_at


async def test_visibility_is_the_lease_and_extend_keeps_it(driver: SqsDriver) -> None:
    await driver.push([envelope()])
    [res] = await eventually(lambda: driver.reserve(["default"], 1, lease_s=1, worker_id=W))
    for _ in range(3):  # time passing is the point: heartbeats keep the job hidden
        await asyncio.sleep(0.7)
        assert await driver.extend([res], 1) == []
    assert (await driver.counts())["default"].reserved == 1
    assert await driver.ack([res]) == []


async def test_a_slow_renewal_does_not_rescue_the_job_it_renewed(
    driver: SqsDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    await driver.push([envelope()])
    [res] = await eventually(lambda: driver.reserve(["default"], 1, lease_s=1, worker_id=W))
    change = driver.client.change_message_visibility_batch

    async def slow(**kwargs: object) -> object:
        await asyncio.sleep(1.3)  # SQS busy: the renewal is served late, then succeeds
        return await change(**kwargs)

    monkeypatch.setattr(driver.client, "change_message_visibility_batch", slow)
    assert await driver.extend([res], 1) == []
    # The renewal succeeded: the job is this worker's, not a lapsed lease to hand back
    # (handing it back would let a second worker run it while this one still does).
    rescued = await driver.rescue()
    assert (rescued.requeued, rescued.failed) == ([], [])
    assert await driver.ack([res]) == []


def _slow_receives(
    driver: SqsDriver, monkeypatch: pytest.MonkeyPatch, *, served_after: float, reply_after: float
) -> list[float]:
    """Make SQS slow to serve receives (``served_after``) or to deliver their replies
    (``reply_after``); returns the times the receives were sent, filled as they go."""
    receive = driver.client.receive_message
    sent: list[float] = []

    async def slow(**kwargs: object) -> object:
        sent.append(time.time())
        await asyncio.sleep(served_after)
        got = await receive(**kwargs)
        await asyncio.sleep(reply_after)
        return got

    monkeypatch.setattr(driver.client, "receive_message", slow)
    return sent


async def test_buffered_jobs_are_not_held_back_by_a_slow_receive(
    driver: SqsDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    await driver.push([envelope() for _ in range(6)])
    first = await eventually(lambda: driver.reserve(["default"], 2, lease_s=30, worker_id=W))
    buffered = sum(len(b) for b in driver.buffers.values())
    assert buffered == 6 - len(first)
    _slow_receives(driver, monkeypatch, served_after=1.5, reply_after=0)
    started = time.time()
    got = await driver.reserve(["default"], 8, lease_s=2, worker_id=W)
    returned = time.time()
    # The worker holds (and renews) these only from now: their leases must be whole.
    assert len(got) == buffered
    assert returned - started < 1.0
    assert all(r.lease_expires_at >= returned + 1.5 for r in got)
    assert await driver.ack(first + got) == []


async def test_a_lease_never_outlasts_the_visibility_sqs_gave(
    driver: SqsDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    await driver.push([envelope()])
    sent = _slow_receives(driver, monkeypatch, served_after=0, reply_after=1.2)
    [res] = await eventually(lambda: driver.reserve(["default"], 1, lease_s=1, worker_id=W))
    # SQS hid the message for 2 s from when it answered, before the slow reply came.
    assert res.lease_expires_at <= sent[-1] + visibility_s(1)
    assert await driver.ack([res]) == []


@pytest.fixture
async def leveled(tmp_path: Path) -> AsyncIterator[SqsDriver]:
    """A driver with queues of their own for priority levels 5 and 3."""
    options = dataclasses.replace(sqs_backend.options(), priorities=(5, 3))
    opened = SqsDriver(options, SqliteDriver(tmp_path / "s.db"), prefix=sqs_backend.unique_prefix())
    await opened.open()
    try:
        yield opened
    finally:
        await opened.delete_queues()
        await opened.close()


def test_priority_levels_name_one_queue_each() -> None:
    naming = Naming("gello-", "-prod", (3, 0, 5))
    assert [naming.level_of(p) for p in range(6)] == [0, 0, 0, 3, 3, 5]
    assert naming.lanes(["a", "b"]) == [("a", 5), ("a", 3), ("a", 0), ("b", 5), ("b", 3), ("b", 0)]
    assert naming.name(("emails", 5)) == "gello-emails-5-prod"
    assert naming.name(("emails", 0)) == "gello-emails-prod"
    assert naming.name(("orders.fifo", 3)) == "gello-orders-3-prod.fifo"
    long = naming.name(("x" * 100 + ".fifo", 5))
    assert len(long) == 80
    assert long.endswith("-5-prod.fifo")
    for lane in [("emails", 5), ("emails", 0), ("orders.fifo", 3), ("my-queue", 0)]:
        assert naming.parse(naming.name(lane)) == lane
    assert naming.parse("gello-emails-4-prod") == ("emails-4", 0)  # 4 is not a level
    assert naming.parse("other-emails-prod") is None


def test_priorities_come_from_the_url() -> None:
    assert options_from_url("sqs://?priorities=3,5,0").priorities == (5, 3)
    assert options_from_url("sqs://").priorities == ()
    with pytest.raises(ConfigurationError, match=r"levels 0\.\.5"):
        options_from_url("sqs://?priorities=high")


async def test_higher_priority_levels_are_drained_first(leveled: SqsDriver) -> None:
    envs = [envelope(priority=p, payload={"p": p}) for p in (0, 5, 1, 3, 5, 4, 2)]
    await leveled.push(envs)
    counts = await leveled.counts()
    assert list(counts) == ["default"]  # the levels add up to one gello queue
    assert counts["default"].pending == len(envs)
    got = []
    for _ in envs:
        got += await leveled.reserve(["default"], 1, lease_s=30, worker_id=W)
    levels = [leveled.naming.level_of(Envelope.decode(r.body).priority) for r in got]
    assert levels == [5, 5, 3, 3, 0, 0, 0]
    assert {r.queue for r in got} == {"default"}
    assert await leveled.ack(got) == []


async def test_every_level_a_queue_gives_strict_priority(tmp_path: Path) -> None:
    options = dataclasses.replace(sqs_backend.options(), priorities=(1, 2, 3, 4, 5))
    driver = SqsDriver(options, SqliteDriver(tmp_path / "s.db"), prefix=sqs_backend.unique_prefix())
    await driver.open()
    try:
        first, second, urgent = envelope(priority=1), envelope(priority=1), envelope(priority=5)
        await driver.push([first, second, urgent])
        got = []
        for _ in range(3):
            got += await driver.reserve(["default"], 1, lease_s=30, worker_id=W)
        assert [r.id for r in got] == [urgent.id, first.id, second.id]
    finally:
        await driver.delete_queues()
        await driver.close()


async def test_a_fifo_queue_has_fifo_levels(leveled: SqsDriver) -> None:
    low, high = envelope("work.fifo"), envelope("work.fifo", priority=5)
    await leveled.push([low, high])
    assert leveled.queue_name("work.fifo", 5).endswith("work-5.fifo")
    got: list[Reservation] = []

    async def reserve() -> list[Reservation]:
        got.extend(await leveled.reserve(["work.fifo"], 2 - len(got), lease_s=30, worker_id=W))
        return got

    await eventually(reserve, lambda taken: len(taken) == 2)
    assert [r.id for r in got] == [high.id, low.id]


def test_options_never_show_the_secret() -> None:
    # An unreachable endpoint's error is in the contract (test_outage_contract).
    options = SqsOptions(access_key_id="AKIAEXAMPLE", secret_access_key="s3cret-key")
    assert "s3cret" not in repr(options)


def test_url_routes_to_sqs_with_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUEUE_FAILED_STORE", f"sqlite:///{tmp_path / 'x.db'}")
    url = "sqs://AK:SEC@/?region=eu-west-1&prefix=https://sqs.eu-west-1.amazonaws.com/1&create=0"
    driver = factory_from_url(url)()
    assert isinstance(driver, SqsDriver)
    assert isinstance(driver.store, SqliteDriver)
    o = options_from_url(url)
    assert (o.region, o.url_prefix, o.create, o.access_key_id) == (
        "eu-west-1",
        "https://sqs.eu-west-1.amazonaws.com/1",
        False,
        "AK",
    )


def test_settings_build_the_sqs_url(monkeypatch: pytest.MonkeyPatch) -> None:
    from gello_queue.settings import Settings

    settings = Settings(
        QUEUE_DRIVER="sqs",  # type: ignore[call-arg]
        AWS_DEFAULT_REGION="eu-central-1",
        SQS_PREFIX="https://sqs.eu-central-1.amazonaws.com/123",
        SQS_SUFFIX="-prod",
        SQS_CREATE_QUEUES=False,
        SQS_PRIORITIES="5,3",
        AWS_SECRET_ACCESS_KEY="never-in-the-url",
    )
    url = settings.connection_url()
    assert url.startswith("sqs://")
    assert "never-in-the-url" not in url
    o = options_from_url(url)
    assert (o.region, o.suffix, o.create, o.priorities) == ("eu-central-1", "-prod", False, (5, 3))
