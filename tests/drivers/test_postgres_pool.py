"""A full PostgreSQL pool makes callers wait for a free connection; its size comes from
the settings."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg  # type: ignore[import-untyped]
import pytest
from backends.postgres import POSTGRES_URL, isolated_schema
from helpers import envelope

from gello_queue import DriverUnavailableError, Queue
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


async def test_a_pool_busy_past_its_timeout_says_it_is_exhausted_and_how_to_raise_it() -> None:
    async with isolated_schema() as schema:
        driver = PostgresDriver(
            POSTGRES_URL, schema=schema, auto_migrate=True, pool_max=1, pool_timeout_s=0.3
        )
        await driver.open()
        try:
            held = await driver.pool.acquire()  # the pool's only connection
            try:
                async with asyncio.timeout(10):  # asyncpg alone would wait for ever
                    with pytest.raises(DriverUnavailableError) as caught:
                        await driver.counts()
                assert "pool is exhausted" in str(caught.value)
                assert "QUEUE_POOL_MAX" in str(caught.value)
                # Within the timeout a caller waits its turn rather than failing at once.
                waiting = asyncio.create_task(driver.counts())
                done, _ = await asyncio.wait({waiting}, timeout=0.1)
                assert not done
            finally:
                await driver.pool.release(held)
            assert await waiting == {}
        finally:
            await driver.close()


async def test_a_driver_opens_at_most_its_budget_of_connections() -> None:
    # The connections kept aside for pushes and reserves come out of QUEUE_POOL_MAX.
    name = f"gello-budget-{uuid.uuid4().hex[:8]}"
    async with isolated_schema() as schema:
        driver = PostgresDriver(
            POSTGRES_URL,
            schema=schema,
            auto_migrate=True,
            pool_max=6,
            listen=False,
            application_name=name,
        )
        await driver.open()
        try:
            for _ in range(3):
                await asyncio.gather(
                    *(driver.push([envelope("q")]) for _ in range(20)),
                    *(driver.reserve(["q"], 1, lease_s=30, worker_id="w") for _ in range(20)),
                    *(driver.counts() for _ in range(20)),
                )
            con = await asyncpg.connect(POSTGRES_URL)
            try:
                opened = await con.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", name
                )
            finally:
                await con.close()
            assert 1 <= opened <= 6
        finally:
            await driver.close()
