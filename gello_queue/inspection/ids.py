"""Short job ids: the shortest unambiguous prefix to show, and a prefix taken back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from gello_queue.core.errors import GelloError

MIN_PREFIX = 8
"""The shortest id prefix taken for an id, as git takes short hashes."""
CANDIDATES = 10
"""Ids an ambiguous prefix names at most."""
PREFIX_SCAN = 20_000
"""Failed jobs read at most to match a prefix on a driver without a prefix lookup."""


class AmbiguousIdError(GelloError):
    """An id prefix matches several jobs."""


@runtime_checkable
class FailedIdsByPrefix(Protocol):
    """A driver that finds failed-job ids by prefix in its failed index."""

    async def failed_ids_by_prefix(self, prefix: str, limit: int) -> list[str]: ...


@runtime_checkable
class JobIdsByPrefix(Protocol):
    """A driver that finds queued-job ids (pending, scheduled, reserved) by prefix."""

    async def job_ids_by_prefix(self, prefix: str, limit: int) -> list[str]: ...


def short_ids(ids: Sequence[str], minimum: int = MIN_PREFIX) -> dict[str, str]:
    """Each id's shortest prefix of at least ``minimum`` characters that no other of
    ``ids`` starts with: a column narrow enough to read, and each entry accepted back
    wherever an id is (UUIDv7 ids made in the same millisecond share 13 characters)."""
    ordered = sorted(set(ids))
    out: dict[str, str] = {}
    for i, job_id in enumerate(ordered):
        # Sorted, an id shares the most with its neighbours.
        shared = max(
            (_common(job_id, o) for o in ordered[max(i - 1, 0) : i + 2] if o != job_id), default=0
        )
        out[job_id] = job_id[: max(minimum, shared + 1)]
    return out


def _common(a: str, b: str) -> int:
    """How many leading characters ``a`` and ``b`` share."""
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def one_match(prefix: str, found: Sequence[str], what: str) -> str:
    """The one id of ``found``; ``prefix`` itself when nothing matched.

    Raises:
        AmbiguousIdError: several ids match (they are named).
    """
    if len(found) <= 1:
        return found[0] if found else prefix
    shown = ", ".join(found[:CANDIDATES]) + (", …" if len(found) > CANDIDATES else "")
    raise AmbiguousIdError(f"id prefix {prefix} matches several {what}: {shown}; give more of it")
