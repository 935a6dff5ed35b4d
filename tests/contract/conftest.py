"""One fixture, every connection: the conformance suite runs once per backend.

Each backend module in ``tests/backends/`` exposes ``open_driver(request)``, an async
context manager yielding an open driver isolated for one test (its own file, key
prefix or schema). Adding a driver is adding a module there and a name in
``CONNECTIONS``.

The sync connection runs each job as it is pushed: nothing waits, is leased, acked,
rescued or counted, so the queue tests do not apply to it. It runs the tests marked
``inline_too``: those of what it stores like any driver (counters, locks, batches, the
failed store).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from backends import CONNECTIONS, INLINE, PEERS

from gello_queue.ports import QueueDriver

INLINE_TOO = "inline_too"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{INLINE_TOO}: the test holds for the sync connection too (which runs a job at"
        " push, so tests of queueing leave it out)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "driver" in metafunc.fixturenames:
        names = sorted(CONNECTIONS)
        if metafunc.definition.get_closest_marker(INLINE_TOO) is not None:
            names += sorted(INLINE)
        metafunc.parametrize("driver", names, indirect=True)


@pytest.fixture
async def driver(request: pytest.FixtureRequest) -> AsyncIterator[QueueDriver]:
    async with {**CONNECTIONS, **INLINE}[request.param](request) as opened:
        yield opened


@pytest.fixture
async def peer(request: pytest.FixtureRequest, driver: QueueDriver) -> AsyncIterator[QueueDriver]:
    """Another driver on the test driver's storage, as another process would have."""
    other = PEERS[request.node.callspec.params["driver"]](driver)
    await other.open()
    try:
        yield other
    finally:
        await other.close()
