"""Per-driver set-up for the conformance suite: name -> isolated, opened driver."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from backends import memory, postgres, rabbitmq, redis, sqlite, sqs
from gello_queue.ports import QueueDriver

Opener = Callable[[Any], AbstractAsyncContextManager[QueueDriver]]

BACKENDS: dict[str, Opener] = {
    "memory": memory.open_driver,
    "redis": redis.open_driver,
    "postgres": postgres.open_driver,
    "sqlite": sqlite.open_driver,
    "rabbitmq": rabbitmq.open_driver,
    "sqs": sqs.open_driver,
}
