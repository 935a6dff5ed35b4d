"""What a gello message on SQS carries, and how a received one is read back.

A job travels as its envelope (the body) with its gello headers as message attributes
(``broker_buffer.job_headers``); a foreign message without ``gello-id`` is named by its
own ``MessageId``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gello_queue.drivers.broker_buffer import header_int


@dataclass(slots=True)
class Received:
    """A received message, buffered until reserved, then held."""

    message: dict[str, Any]
    visible_at: float
    """When SQS shows it again unless the heartbeat extends it."""


def attribute(value: object) -> dict[str, str]:
    """``value`` as an SQS message attribute."""
    if isinstance(value, int):
        return {"DataType": "Number", "StringValue": str(value)}
    return {"DataType": "String", "StringValue": str(value)}


def attrs_of(message: dict[str, Any]) -> dict[str, str]:
    return {
        k: str(v.get("StringValue")) for k, v in (message.get("MessageAttributes") or {}).items()
    }


def job_id(message: dict[str, Any], attrs: dict[str, str]) -> str:
    """The job id: ``gello-id``, else the message's own id (a foreign message)."""
    return attrs.get("gello-id") or str(message["MessageId"])


def receives(message: dict[str, Any]) -> int:
    return int((message.get("Attributes") or {}).get("ApproximateReceiveCount", 1))


def used_attempts(message: dict[str, Any], attrs: dict[str, str], *, fifo: bool) -> int:
    """Attempts this message used before the current receive: its earlier receives,
    less, on a FIFO queue, the hop that hid it until due (its first receive came before
    ``gello-at``; standard queues hop by sending a new message)."""
    earlier = receives(message) - 1
    if not fifo or earlier == 0:
        return earlier
    first = int((message.get("Attributes") or {}).get("ApproximateFirstReceiveTimestamp") or 0)
    return earlier - 1 if 0 < first < (header_int(attrs, "gello-at") or 0) else earlier
