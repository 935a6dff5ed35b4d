"""gello in a FastAPI (or Starlette) app (``pip install 'gello[fastapi]'``).

A queue opens one driver per event loop, on first use. ``lifespan`` opens the default
queue's driver on the server's loop at start-up, so a backend that cannot be reached
stops the server from starting rather than failing the first request, and closes it at
shutdown, so the last connections say goodbye. ``QueueDep`` hands the queue to a view.

The dependency reads the default queue at each request, so ``gello_queue.testing.fake()``
installed around a test client records what the views dispatch::

    with testing.fake() as queue, TestClient(app) as client:
        client.post("/signup", json={...})
    queue.assert_pushed(SendWelcomeEmail)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends

from gello_queue import Queue, default_queue

__all__ = ["QueueDep", "get_queue", "lifespan", "open_queue"]


@asynccontextmanager
async def open_queue(queue: Queue | None = None) -> AsyncIterator[Queue]:
    """Open ``queue`` (the default queue when omitted) on the running loop; close it on
    exit. For an application's own lifespan: ``async with open_queue(): yield``.

    Raises:
        DriverUnavailableError: the backend cannot be reached.
    """
    opened = queue or default_queue()
    await opened.driver()
    try:
        yield opened
    finally:
        await opened.close()


@asynccontextmanager
async def lifespan(app: object) -> AsyncIterator[None]:
    """A ready-made lifespan: ``FastAPI(lifespan=lifespan)`` opens and closes the default
    queue with the application."""
    async with open_queue():
        yield


def get_queue() -> Queue:
    """The dependency behind ``QueueDep``: the default queue, read at each request
    (override it in ``app.dependency_overrides`` to hand views another queue)."""
    return default_queue()


QueueDep = Annotated[Queue, Depends(get_queue)]
"""A view's parameter typed ``queue: QueueDep`` receives the queue."""
