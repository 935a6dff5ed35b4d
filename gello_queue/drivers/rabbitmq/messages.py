"""What a gello message on RabbitMQ carries, and how a delivery is read back.

A job travels as its envelope (the body), its id as the message's ``message_id``, and a
header table with only what differs from a plain job due now (``rabbit_headers``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from aiormq.abc import DeliveredMessage

from gello_queue.core.envelope import Envelope, new_id
from gello_queue.drivers.broker_buffer import ms as epoch_ms


@dataclass(slots=True)
class Buffered:
    """A delivery waiting to be reserved."""

    msg: DeliveredMessage
    gen: int
    """The connection generation it came on (a reconnect makes it stale)."""
    since: float
    """When it arrived (monotonic)."""


def delivery_tag(msg: DeliveredMessage) -> int:
    tag: Any = msg.delivery.delivery_tag  # type: ignore[union-attr]
    return int(tag)


def headers_of(msg: DeliveredMessage) -> dict[str, Any]:
    headers = msg.header.properties.headers
    return dict(headers) if headers else {}


def message_id(msg: DeliveredMessage, headers: dict[str, Any]) -> str:
    """The job id: ``message_id``, or ``gello-id`` in messages of the previous format."""
    return str(headers.get("gello-id") or msg.header.properties.message_id or new_id())


def rabbit_headers(
    env: Envelope,
    *,
    attempts: int,
    at: float | None = None,
    unique: str | None = None,
    started: bool = False,
) -> dict[str, Any]:
    """The headers a job travels with: only what differs from a plain job due now.

    A header table costs the consumer a pure-Python decode per message, so a job due
    now, never attempted and not unique travels with none. The id is the message's
    ``message_id``; ``gello-max`` is sent only when below 1 (the first delivery can be
    past it), since a redelivery reads it from the body; ``gello-created`` not at all.
    ``gello-at`` (due, epoch ms rounded up) only when in the future, ``gello-attempts``
    (attempts before this message was sent) only when not 0. Messages of the previous
    format carry every header, and are read the same (``arrival``).
    """
    headers: dict[str, Any] = {}
    due = env.available_at if at is None else at
    if due > time.time():
        headers["gello-at"] = epoch_ms(due)
    if attempts:
        headers["gello-attempts"] = attempts
    if env.max_attempts < 1:
        headers["gello-max"] = env.max_attempts
    if unique is not None:
        headers["gello-unique"] = unique
    if started:
        headers["gello-started"] = 1
    return headers
