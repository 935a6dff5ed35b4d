"""RabbitMQ for the conformance suite: each test gets its own queue-name prefix on the
shared broker (its queues are deleted afterwards) and its own SQLite store.

An unreachable broker fails the test (``open`` raises): RabbitMQ is part of the suite.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from backends import postgres
from backends.servers import SECRET, free_port
from gello_queue.drivers.rabbitmq import RabbitMQDriver
from gello_queue.drivers.sqlite import SqliteDriver

RABBITMQ_URL = os.environ.get("GELLO_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")


def unique_prefix() -> str:
    """A queue-name prefix no other test uses."""
    return f"gtest.{uuid.uuid4().hex[:12]}."


@asynccontextmanager
async def open_driver(request: Any) -> AsyncIterator[RabbitMQDriver]:
    tmp = request.getfixturevalue("tmp_path")
    driver = RabbitMQDriver(RABBITMQ_URL, SqliteDriver(tmp / "store.db"), prefix=unique_prefix())
    await driver.open()
    try:
        yield driver
    finally:
        await driver.delete_queues()
        await driver.close()


def peer(driver: RabbitMQDriver) -> RabbitMQDriver:
    """Another driver (its own connection) on the same queues and store file."""
    assert isinstance(driver.store, SqliteDriver)
    return RabbitMQDriver(driver.url, SqliteDriver(driver.store.path), prefix=driver.prefix)


def unreachable(request: Any) -> RabbitMQDriver:
    """An unopened driver for a loopback port nothing listens on (its store is fine)."""
    tmp = request.getfixturevalue("tmp_path")
    url = f"amqp://guest:{SECRET}@127.0.0.1:{free_port()}/"
    return RabbitMQDriver(url, SqliteDriver(tmp / "store.db"), connect_timeout_s=2)


def unreachable_store(request: Any) -> RabbitMQDriver:
    """An unopened driver on the shared broker whose database store does not answer."""
    return RabbitMQDriver(RABBITMQ_URL, postgres.unreachable(request), prefix=unique_prefix())


def delete_queues(prefix: str, queues: tuple[str, ...] = ("default",)) -> None:
    """Delete the work queues and delay buckets of ``queues`` under ``prefix`` (blocking;
    for tests whose queues were made by other processes)."""
    import asyncio

    import aiormq

    from gello_queue.drivers.rabbitmq.publish import BUCKETS_MS

    async def drop() -> None:
        conn = await aiormq.connect(RABBITMQ_URL)
        channel = await conn.channel()
        for queue in queues:
            for name in [
                f"{prefix}{queue}",
                *(f"{prefix}{queue}.delayed.{b}ms" for b in BUCKETS_MS),
            ]:
                await channel.queue_delete(name)
        await conn.close()

    asyncio.run(drop())


def overwrite_body(prefix: str, queue: str, job_id: str, body: str) -> None:
    """Replace the body of job ``job_id`` waiting in ``queue``, as a foreign producer would:
    the message is taken off the queue and published again with the new body."""
    import asyncio

    import aiormq
    from pamqp import commands as spec

    async def rewrite() -> None:
        conn = await aiormq.connect(RABBITMQ_URL)
        channel = await conn.channel()
        name = f"{prefix}{queue}"
        while True:
            got = await channel.basic_get(name)
            assert isinstance(got.delivery, spec.Basic.GetOk), f"{job_id} is not in {name}"
            props = got.header.properties
            headers = dict(props.headers or {})
            # The id is the message_id (gello-id in headers before the slim format).
            if (headers.get("gello-id") or props.message_id) == job_id:
                break
        await channel.basic_publish(
            body.encode("latin-1"),
            routing_key=name,
            properties=spec.Basic.Properties(
                delivery_mode=2, headers=headers or None, message_id=props.message_id
            ),
        )
        await channel.basic_ack(got.delivery.delivery_tag)
        await conn.close()  # the others go back to the queue

    asyncio.run(rewrite())
