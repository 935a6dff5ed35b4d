"""Unique jobs: the key a job is deduplicated on, and what a dispatch reports.

The lock itself is taken by the driver's ``push`` in the same script or transaction as
the enqueue; this module only names it. Modes (``Envelope.unique_mode``):

- "processed" (default): a dispatch while a job holds the key folds into that job until
  it completes or lands in the failed store;
- "processing": the key is free again once the holder has been reserved;
- "debounce": the new job replaces a holder that has not started (and takes the key
  from one that has), so the last call wins and the superseded job never runs.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

UNIQUE_MODES = ("processed", "processing")


def payload_digest(payload: Any) -> str:
    """A stable short hash of a JSON payload (keys sorted)."""
    raw = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


def unique_key(name: str, queue: str, unique_id: str) -> str:
    """The lock's name: the job's name and queue, then its unique id."""
    return f"{name}:{queue}:{unique_id}"


class DispatchResult(str):
    """The id a dispatch returns (a ``str``), saying whether the job was a duplicate.

    ``duplicate_of`` is the id of the job already holding the unique key when the
    dispatch folded into it (the result's value is then that id), else ``None``.
    """

    duplicate_of: str | None
    requested_id: str

    def __new__(cls, stored_id: str, requested_id: str) -> DispatchResult:
        self = super().__new__(cls, stored_id)
        self.requested_id = requested_id
        self.duplicate_of = None if stored_id == requested_id else stored_id
        return self

    @property
    def duplicate(self) -> bool:
        """True when no new job was stored: another job holds the unique key."""
        return self.duplicate_of is not None

    @property
    def id(self) -> str:
        """The id of the job that represents this dispatch."""
        return str(self)
