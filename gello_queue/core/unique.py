"""Unique jobs: the key a job is deduplicated on, what a dispatch meeting a held key
does, and what a dispatch reports.

The lock itself is taken by the driver's ``push`` in the same script or transaction as
the enqueue; this module names it and decides (``unique_outcome``) what the push does
when another job holds it. Modes (``Envelope.unique_mode``):

- "processed" (default): a dispatch while a job holds the key folds into that job until
  it completes or lands in the failed store;
- "processing": the key is free again once the holder has been reserved;
- "debounce": the new job replaces a holder that has not started (and takes the key
  from one that has), so the last call wins and the superseded job never runs.

A lock whose ``unique_for`` ran out holds nothing, whatever the mode.

One decision for every driver: the memory and SQLite drivers and the brokers' claims
call ``unique_outcome``; Redis (``push.lua``) and PostgreSQL (the ``push_unique``
function of the migrations) keep an atomic copy that names it, and a contract test
holds each driver to it.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Any

import orjson

UNIQUE_MODES = ("processed", "processing")


class UniqueOutcome(StrEnum):
    """What a dispatch does when another job holds its unique key."""

    FOLD = "fold"
    """Nothing is stored: the dispatch is a duplicate of the holder, whose id it returns."""
    SUPERSEDE = "supersede"
    """The holder is deleted (it never runs) and the new job is stored with the key."""
    TAKE = "take"
    """The holder stays (and runs) without the key; the new job is stored with it."""


def unique_outcome(
    mode: str | None, *, holder_started: bool, holder_expired: bool
) -> UniqueOutcome:
    """Decide what a dispatch in ``mode`` does to the job holding its key.

    Args:
        mode: the dispatched job's ``unique_mode`` (``None`` is "processed").
        holder_started: the holder has been reserved (it runs, or ran and was released).
        holder_expired: the holder's lock outlived its ``unique_for``.

    Returns:
        ``TAKE`` for an expired lock (it holds nothing), and for a holder that started
        when the mode lets go of it then ("processing", "debounce"); ``SUPERSEDE`` for a
        debounce whose holder has not started; ``FOLD`` otherwise.
    """
    if holder_expired:
        return UniqueOutcome.TAKE
    if mode == "debounce":
        return UniqueOutcome.TAKE if holder_started else UniqueOutcome.SUPERSEDE
    if mode == "processing" and holder_started:
        return UniqueOutcome.TAKE
    return UniqueOutcome.FOLD


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
