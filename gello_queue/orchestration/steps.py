"""Links, batches and callbacks as they travel inside envelopes and batch records.

A chain's rest rides in the running job's ``Envelope.chain`` as a list of steps: an
envelope dict (a job) or ``{"batch": spec, "chain_catch": link}``. Every link gets its
id when the chain is built, so re-sending a link after a crash cannot make a second job:
its push carries the unique key ``gello:once:<id>``, and a link that completed leaves a
marker that makes a late copy skip (see ``flow``).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import Any

from gello_queue.core.envelope import Envelope, JsonDict
from gello_queue.core.job import JobDefaults, PendingDispatch


class Steps(ABC):
    """Something a batch can hold besides single jobs: a chain, as its list of links.

    Named here, below both, so a batch can tell a chain apart without importing the
    chain module (which imports the batch's)."""

    @abstractmethod
    def job_links(self, defaults: JobDefaults, now: float, *, batch_id: str) -> list[JsonDict]:
        """The links to store for this item of batch ``batch_id``."""


ONCE_PREFIX = "gello:once:"
DONE_PREFIX = "gello:done:"
KEEP_S = 7 * 86400.0
"""How long once-only claims and completion markers are kept."""


def link(
    pending: PendingDispatch,
    defaults: JobDefaults,
    now: float,
    *,
    once: bool,
    batch_id: str | None = None,
    **mw: Any,
) -> JsonDict:
    """A job as a chain step or callback: its envelope dict, without a unique key (a
    link folded into another job would lose the rest of its chain); ``mw`` goes into
    its orchestration state (``Envelope.middleware``)."""
    env = pending.to_envelope(defaults, now)
    middleware = {**env.middleware, **{k: v for k, v in mw.items() if v is not None}}
    if once:
        middleware["once"] = True
    return env.with_changes(
        unique_key=None,
        unique_mode=None,
        unique_for=None,
        batch_id=batch_id,
        middleware=middleware,
    ).to_dict()


def fresh(step: JsonDict, now: float | None = None, **changes: Any) -> Envelope:
    """The envelope to push for a stored link: due as long after now as it was after
    its creation, and keyed so that a second push of it folds into the first."""
    now = time.time() if now is None else now
    env = Envelope.from_dict(step)
    delay = max(env.available_at - env.created_at, 0.0)
    once = env.middleware.get("once")
    return env.with_changes(
        available_at=now + delay,
        created_at=now,
        unique_key=ONCE_PREFIX + env.id if once else None,
        **changes,
    )


def step_ids(steps: list[JsonDict]) -> list[str]:
    """Ids of the steps in a chain's rest as its batch counts them: a job's id, or a
    nested batch's id (one step, marked when that batch ends)."""
    return [str(s["batch"]["id"]) if "batch" in s else str(s["id"]) for s in steps]
