"""RabbitMQ-specific behaviour: delays that hop buckets, attempts from the delivery count,
tokens across reconnects, clearing, secrets and URLs (what the brokers share is in
test_broker_common and test_broker_jobs)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sized
from pathlib import Path

import pytest
from backends.rabbitmq import RABBITMQ_URL, open_driver
from helpers import envelope, eventually
from pamqp import commands as spec

from gello_queue.core.envelope import Envelope
from gello_queue.drivers import factory_from_url
from gello_queue.drivers.rabbitmq import RabbitMQDriver
from gello_queue.drivers.rabbitmq.publish import BUCKETS_MS
from gello_queue.drivers.sqlite import SqliteDriver
from gello_queue.ports import Failure

W = "worker-1"


@pytest.fixture
async def driver(request: pytest.FixtureRequest) -> AsyncIterator[RabbitMQDriver]:
    async with open_driver(request) as opened:
        yield opened


async def test_a_delay_hops_buckets_and_never_runs_early(driver: RabbitMQDriver) -> None:
    now = await driver.now()
    env = envelope(available_at=now + 1.3)  # 1024 ms bucket, then 256, then 16s
    await driver.push([env])
    assert (await driver.counts())["default"].scheduled == 1
    got = await eventually(
        lambda: driver.reserve(["default"], 1, lease_s=30, worker_id=W), timeout_s=10
    )
    assert got[0].id == env.id
    assert time.time() >= env.available_at
    assert got[0].attempts == 1
    assert time.time() - env.available_at < 1.0  # late by a few hops at most


async def test_delay_buckets_are_bounded(driver: RabbitMQDriver) -> None:
    now = await driver.now()
    delays = (0.02, 0.5, 3, 60, 3600, 86400 * 3)
    envs = [envelope(available_at=now + d) for d in delays]
    await driver.push(envs)
    buckets = {n for n in driver.created if ".delayed." in n}
    assert len(buckets) <= len(BUCKETS_MS)
    counts = (await driver.counts())["default"]
    # On a busy machine the short ones may be due by now (then pending): none is lost.
    later = await driver.now()
    due = sum(1 for d in delays if now + d <= later)
    assert counts.scheduled >= len(envs) - due
    assert counts.scheduled + counts.pending == len(envs)


async def test_attempts_survive_a_dead_consumer(driver: RabbitMQDriver, tmp_path: Path) -> None:
    env = envelope(max_attempts=2)
    await driver.push([env])
    other = RabbitMQDriver(RABBITMQ_URL, SqliteDriver(tmp_path / "store.db"), prefix=driver.prefix)
    await other.open()
    [first] = await other.reserve(["default"], 1, lease_s=30, worker_id="doomed")
    assert first.attempts == 1
    await other._conn.close()  # the worker dies: the broker takes the delivery back
    await other.close()
    [second] = await eventually(lambda: driver.reserve(["default"], 1, lease_s=30, worker_id=W))
    assert (second.id, second.attempts) == (env.id, 2)
    await driver._conn.close()  # its last attempt dies too
    await driver.open()
    assert await driver.reserve(["default"], 1, lease_s=30, worker_id=W) == []
    failed = await eventually(lambda: driver.failed_find(env.id))
    assert failed is not None
    assert (failed.exception, failed.attempts) == ("WorkerLost", 2)


async def _publish_old_format(
    driver: RabbitMQDriver, env: Envelope, *, attempts: int, at: float
) -> None:
    """Publish ``env`` as the previous format did: every ``gello-*`` header, no
    message_id."""
    headers = {
        "gello-id": env.id,
        "gello-at": int(at * 1000) + 1,
        "gello-attempts": attempts,
        "gello-max": env.max_attempts,
        "gello-created": int(env.created_at * 1000) + 1,
    }
    name = await driver._route(env.queue, at - time.time())
    props = spec.Basic.Properties(delivery_mode=2, headers=headers)
    await driver._pub.basic_publish(env.encode(), exchange="", routing_key=name, properties=props)


async def test_a_plain_job_travels_without_headers(driver: RabbitMQDriver) -> None:
    env = envelope()
    await driver.push([env])
    await driver.wait(["default"], 10)  # consumes, and waits for the delivery
    msg = driver.buffers["default"][0].msg
    assert msg.header.properties.headers is None
    assert msg.header.properties.message_id == env.id
    [res] = await driver.reserve(["default"], 1, lease_s=30, worker_id=W)
    assert (res.id, res.attempts) == (env.id, 1)
    found = await driver.find(env.id)
    assert found is not None
    assert found.created_at == env.created_at


async def test_messages_of_the_previous_format_are_understood(driver: RabbitMQDriver) -> None:
    now = time.time()
    due = envelope(max_attempts=5, created_at=now - 10)
    await _publish_old_format(driver, due, attempts=2, at=now - 1)
    [res] = await eventually(lambda: driver.reserve(["default"], 1, lease_s=30, worker_id=W))
    assert (res.id, res.attempts) == (due.id, 3)
    found = await driver.find(due.id)
    assert found is not None
    assert abs(found.created_at - due.created_at) < 0.01
    await driver.ack([res])
    spent = envelope(max_attempts=3)  # its last attempt was delivered before
    await _publish_old_format(driver, spent, attempts=3, at=now - 1)
    assert await driver.reserve(["default"], 1, lease_s=30, worker_id=W) == []
    failed = await eventually(lambda: driver.failed_find(spent.id))
    assert failed is not None
    assert failed.exception == "WorkerLost"
    early = envelope(available_at=now + 0.6)
    await _publish_old_format(driver, early, attempts=0, at=early.available_at)
    [late] = await eventually(
        lambda: driver.reserve(["default"], 1, lease_s=30, worker_id=W), timeout_s=10
    )
    assert time.time() >= early.available_at
    assert (late.id, late.attempts) == (early.id, 1)


async def test_a_token_from_before_a_reconnect_settles_nothing(driver: RabbitMQDriver) -> None:
    await driver.push([envelope()])
    [res] = await driver.reserve(["default"], 1, lease_s=30, worker_id=W)
    await driver._conn.close()
    await driver.open()  # new connection, delivery tags start again at 1
    [again] = await eventually(lambda: driver.reserve(["default"], 1, lease_s=30, worker_id=W))
    assert again.id == res.id
    assert again.token != res.token
    assert await driver.ack([res]) == [res.id]
    assert await driver.fail(res, "{}", Failure("X", "late")) is False
    assert await driver.extend([res, again], 30) == [res.id]
    assert await driver.ack([again]) == []


def test_url_routes_to_rabbitmq_with_its_store(tmp_path: Path) -> None:
    url = f"amqps://u:p@example.com/vhost?store=sqlite:///{tmp_path / 'x.db'}"
    driver = factory_from_url(url)()
    assert isinstance(driver, RabbitMQDriver)
    assert isinstance(driver.store, SqliteDriver)
    assert driver.url == "amqps://u:p@example.com/vhost"


def test_the_store_parameter_keeps_its_older_name(tmp_path: Path) -> None:
    url = f"amqp://127.0.0.1/?failed_store=sqlite:///{tmp_path / 'old.db'}"
    driver = factory_from_url(url)()
    assert isinstance(driver, RabbitMQDriver)
    assert isinstance(driver.store, SqliteDriver)
    assert driver.store.path == str(tmp_path / "old.db")


async def test_deliveries_reach_the_buffer_in_tag_order(driver: RabbitMQDriver) -> None:
    # The ``multiple`` acks rely on the buffer holding deliveries in tag order.
    await driver.push([envelope() for _ in range(40)])
    await driver._consume(["default"], 40)
    buffer = driver.buffers["default"]
    await eventually(lambda: _len(buffer), lambda n: n == 40)
    tags = [int(item.msg.delivery.delivery_tag) for item in buffer]
    assert tags == sorted(tags)
    got = await driver.reserve(["default"], 40, lease_s=30, worker_id=W)
    assert len(got) == 40
    assert await driver.ack(got) == []
    left = (await driver.counts()).get("default")
    assert left is None or left.total == 0


async def _len(items: Sized) -> int:
    return len(items)
