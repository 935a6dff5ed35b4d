"""pytest fixtures for applications that use gello (loaded through the ``pytest11`` entry
point when gello is installed).

- ``gello_fake``: a ``FakeQueue`` installed as the default queue; every dispatch (batches
  and chains too) is recorded, nothing is stored. Assert with
  ``gello_fake.assert_pushed(...)``, ``assert_batched(...)``, ``assert_chained([...])``.
- ``gello_queue``: a real in-memory queue installed as the default, with
  ``await gello_queue.drain()`` (or ``drain_blocking()``) running the dispatched jobs,
  batches and chains to completion in a worker.

Both work in sync and async tests and restore the previous default queue afterwards.
gello itself is imported only when a fixture is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from gello_queue.testing import FakeQueue, QueueHarness


@pytest.fixture
def gello_fake() -> Iterator[FakeQueue]:
    """Every dispatch recorded instead of queued."""
    from gello_queue.testing import fake

    with fake() as queue:
        yield queue


@pytest.fixture
def gello_queue() -> Iterator[QueueHarness]:
    """A real ``memory://`` queue as the default queue, drained by ``drain()``."""
    from gello_queue import queue as queue_module
    from gello_queue.queue import set_default_queue
    from gello_queue.testing import QueueHarness

    harness = QueueHarness.create()
    previous = queue_module._default
    set_default_queue(harness.queue)
    try:
        yield harness
    finally:
        set_default_queue(previous)
        harness.close()
