"""A burst of first dispatches on a fresh queue opens one driver, not one per dispatch.

A web app's first requests after start-up dispatch concurrently on a queue that has not
opened its driver yet; each opening its own would open one connection pool each.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from backends.postgres import POSTGRES_URL, isolated_schema
from backends.redis import REDIS_URL
from pydantic import BaseModel

from gello_queue import Job, Queue
from gello_queue.drivers import factory_from_url
from gello_queue.drivers.postgres import PostgresDriver
from gello_queue.ports import QueueDriver

BURST = 200


class Signup(BaseModel):
    user_id: int


class Welcome(Job[Signup], register=False):
    async def handle(self, payload: Signup) -> None:
        pass


@asynccontextmanager
async def backend_url(name: str, tmp_path: Path) -> AsyncIterator[str]:
    if name == "sqlite":
        yield f"sqlite:///{tmp_path / 'burst.db'}"
    elif name == "redis":
        yield REDIS_URL
    else:
        async with isolated_schema() as schema:
            migrator = PostgresDriver(POSTGRES_URL, schema=schema)
            await migrator.migrate()
            yield f"{POSTGRES_URL}?schema={schema}"


@pytest.mark.parametrize("name", ["sqlite", "redis", "postgres"])
async def test_concurrent_first_dispatches_open_one_driver(name: str, tmp_path: Path) -> None:
    async with backend_url(name, tmp_path) as url:
        prefix = f"gtest:{uuid.uuid4().hex}:"
        real = factory_from_url(url, prefix=prefix)
        built: list[QueueDriver] = []

        def counting() -> QueueDriver:
            built.append(real())
            return built[-1]

        factory: Callable[[], QueueDriver] = counting
        queue = Queue(url, factory=factory)
        try:
            ids = await asyncio.gather(
                *(Welcome.dispatch(user_id=i, connection=queue) for i in range(BURST))
            )
            assert len(built) == 1
            assert len(set(ids)) == BURST
            counts = await (await queue.driver()).counts()
            assert sum(c.total for c in counts.values()) == BURST
        finally:
            await queue.close()
