"""One fixture, every driver: the conformance suite runs once per backend.

Each backend module in ``tests/backends/`` exposes ``open_driver(request)``, an async
context manager yielding an open driver isolated for one test (its own file, key
prefix or schema). Adding a driver is adding a module here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from backends import BACKENDS

from gello_queue.ports import QueueDriver


@pytest.fixture(params=sorted(BACKENDS))
async def driver(request: pytest.FixtureRequest) -> AsyncIterator[QueueDriver]:
    async with BACKENDS[request.param](request) as opened:
        yield opened
