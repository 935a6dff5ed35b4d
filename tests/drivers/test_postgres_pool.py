"""A full PostgreSQL pool makes callers wait for a free connection; its size comes from
the settings."""

from __future__ import annotations

import asyncio

from backends.postgres import POSTGRES_URL, isolated_schema

from gello_queue import Queue
from gello_queue.drivers.postgres import PostgresDriver
from gello_queue.settings import Settings


async def test_a_full_pool_makes_callers_wait_their_turn() -> None:
    async with isolated_schema() as schema:
        driver = PostgresDriver(POSTGRES_URL, schema=schema, auto_migrate=True, pool_max=2)
        await driver.open()
        try:
            # Forty concurrent reads through two pooled connections: each waits its turn.
            counts = await asyncio.gather(*(driver.counts() for _ in range(40)))
            assert counts == [{}] * 40
        finally:
            await driver.close()


def test_pool_sizes_come_from_settings() -> None:
    settings = Settings(QUEUE_POOL_MAX=1)  # type: ignore[call-arg]
    driver = Queue(POSTGRES_URL, settings=settings)._factory()
    assert isinstance(driver, PostgresDriver)
    assert (driver.pool_min, driver.pool_max) == (1, 1)
