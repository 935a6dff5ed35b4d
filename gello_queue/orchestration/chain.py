"""Chains: jobs that run one after the other, each when the previous one completed.

    await Chain([Fetch.make(url=u), Resize.make(), Publish.make()], catch=Alert.make()).dispatch()

Only the first link is stored at dispatch; the rest travels inside its envelope
(``Envelope.chain``) and moves to the next link as each completes, so a worker that dies
between two links loses nothing: the unacked link runs again and pushes the next one
again (which folds into the first push). A failure stops the chain and dispatches
``catch``. A chain may hold a ``Batch`` (the chain goes on when the batch succeeded)
and a batch may hold chains.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from gello_queue.core.dispatcher import default_connection
from gello_queue.core.envelope import JsonDict
from gello_queue.core.errors import ConfigurationError
from gello_queue.core.job import JobDefaults, PendingDispatch
from gello_queue.orchestration.batch import Batch, Prepared, batch_parts, checked
from gello_queue.orchestration.steps import Steps, fresh, link

if TYPE_CHECKING:
    from gello_queue.queue import Queue


class Chain(Steps):
    """Jobs (and batches) run in order; ``catch`` is dispatched if one fails."""

    def __init__(
        self,
        jobs: Sequence[PendingDispatch | Batch | Chain],
        *,
        catch: PendingDispatch | None = None,
    ) -> None:
        if not jobs:
            raise ConfigurationError("a chain needs at least one job")
        self.jobs = list(jobs)
        self.catch = catch

    def steps(
        self, defaults: JobDefaults, now: float, *, batch_id: str | None = None
    ) -> list[JsonDict]:
        """The chain as data: envelope dicts and batch steps, in order."""
        catch = None if self.catch is None else link(self.catch, defaults, now, once=True)
        out: list[JsonDict] = []
        for item in self.flat():
            if isinstance(item, Batch):
                if batch_id is not None and not out:
                    raise ConfigurationError(
                        "a chain inside a batch must start with a job, not a batch:"
                        " put that batch's jobs in the outer batch instead"
                    )
                # Inside a batch, the nested batch counts there as one step.
                spec = item.spec(defaults, now, parent=batch_id)
                out.append({"batch": spec, "chain_catch": catch})
            else:
                # Every link but the first is pushed by the one before it: once only.
                out.append(
                    link(item, defaults, now, once=bool(out), batch_id=batch_id, chain_catch=catch)
                )
        return out

    def job_links(self, defaults: JobDefaults, now: float, *, batch_id: str) -> list[JsonDict]:
        """The steps of a chain inside a batch: jobs, and batches counted there as one
        step each."""
        return self.steps(defaults, now, batch_id=batch_id)

    def flat(self) -> list[PendingDispatch | Batch]:
        """The jobs and batches in the order they run (nested chains inlined)."""
        out: list[PendingDispatch | Batch] = []
        for item in self.jobs:
            if isinstance(item, Chain):
                out += item.flat()
            else:
                out.append(item)
        return out

    def prepare(self, defaults: JobDefaults, now: float) -> Prepared:
        """What dispatching stores: the first link with the rest inside it (its id), or
        the first batch with the rest in its record (the batch id)."""
        steps = self.steps(defaults, now)
        first, rest = steps[0], steps[1:]
        if "batch" in first:
            spec = first["batch"]
            record, envelopes = batch_parts(spec, chain=rest, chain_catch=first["chain_catch"])
            return checked(Prepared(str(spec["id"]), envelopes, record), defaults)
        env = fresh(first, chain=rest)
        return checked(Prepared(env.id, [env], None), defaults)

    async def dispatch(self, connection: Queue | None = None) -> str:
        """Store the first link (or batch) with the rest inside it; return its id."""
        return await (
            connection if connection is not None else default_connection()
        ).dispatch_chain(self)

    def dispatch_blocking(self, connection: Queue | None = None) -> str:
        """Blocking twin of ``dispatch``."""
        return (
            connection if connection is not None else default_connection()
        ).dispatch_chain_blocking(self)
