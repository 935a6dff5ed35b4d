"""Fixtures: a ``Queue`` on an isolated backend of every kind (memory, SQLite,
PostgreSQL, Redis), for tests that run jobs through real workers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from backends import BACKENDS
from orch_helpers import DRIVERS, queue_on

from gello_queue import Queue


@pytest.fixture(params=DRIVERS)
async def queue(request: pytest.FixtureRequest) -> AsyncIterator[Queue]:
    async with BACKENDS[request.param](request) as driver:
        yield queue_on(driver)
