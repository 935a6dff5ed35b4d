"""PostgreSQL for the conformance suite: one fresh schema per test, dropped afterwards.

An unreachable server fails the test (``DriverUnavailableError``): never a skip, so a
missing database cannot pass for a green suite.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from backends.servers import SECRET, Stopper, free_port, own_postgres
from gello_queue.drivers.postgres import PostgresDriver

# The same default as tests/conftest.py (which cannot be imported from here by name:
# every directory's conftest is called "conftest").
POSTGRES_URL = os.environ.get(
    "GELLO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


@asynccontextmanager
async def isolated_schema(suffix: str = "") -> AsyncIterator[str]:
    """A schema name unique to this test; the schema is dropped on exit."""
    schema = f"gtest_{uuid.uuid4().hex}{suffix}"
    try:
        yield schema
    finally:
        con = await asyncpg.connect(POSTGRES_URL)
        try:
            quoted = '"' + schema.replace('"', '""') + '"'
            await con.execute(f"DROP SCHEMA IF EXISTS {quoted} CASCADE")
        finally:
            await con.close()


@asynccontextmanager
async def open_driver(request: Any, **options: Any) -> AsyncIterator[PostgresDriver]:
    async with isolated_schema() as schema:
        driver = PostgresDriver(POSTGRES_URL, schema=schema, **options)
        await driver.migrate()
        await driver.open()
        try:
            yield driver
        finally:
            await driver.close()


def peer(driver: PostgresDriver) -> PostgresDriver:
    """Another driver (its own pool) on the same schema, as another process would be."""
    return PostgresDriver(driver.url, schema=driver.schema, table_prefix=driver.table_prefix)


def unreachable(request: Any) -> PostgresDriver:
    """An unopened driver for a loopback port nothing listens on."""
    url = f"postgresql://gello:{SECRET}@127.0.0.1:{free_port()}/gello"
    return PostgresDriver(url, connect_timeout_s=2)


@asynccontextmanager
async def dying(request: Any) -> AsyncIterator[tuple[PostgresDriver, Stopper]]:
    """An open driver on a PostgreSQL server of its own, and the function that stops it."""
    with own_postgres() as (url, stop):
        driver = PostgresDriver(url, connect_timeout_s=2, command_timeout_s=5)
        await driver.migrate()
        await driver.open()
        try:
            yield driver, stop
        finally:
            await driver.close()
