"""What the executor does around a job that belongs to a chain or a batch.

Every step is idempotent, so a worker that dies anywhere in it leaves nothing lost and
nothing doubled: the job is not acked yet, runs again, and repeats the step.

- before running: a link that already completed once (a late copy) and a job of a
  cancelled batch are skipped;
- on success, before the ack: the next link is pushed (keyed, so a second push folds),
  the job is marked in its batch (once per job), callbacks fire under a once-only claim;
- on the final failure, before the job moves to the failed store: the batch is marked,
  ``catch`` fires once, the batch is cancelled unless it allows failures, a chain stops
  and its ``catch`` runs.
"""

from __future__ import annotations

from typing import Any

import orjson

from gello_queue.core.envelope import Envelope
from gello_queue.observability import get_logger
from gello_queue.orchestration.steps import DONE_PREFIX, KEEP_S, fresh, step_ids
from gello_queue.ports import BatchRecord, QueueDriver


def involved(env: Envelope) -> bool:
    """Whether a job needs the flow at all (most jobs do not, and pay nothing)."""
    return bool(env.batch_id or env.chain or env.middleware)


class Flow:
    """Chain and batch bookkeeping of one worker's driver."""

    def __init__(self, driver: QueueDriver) -> None:
        self.driver = driver

    # -- before ----------------------------------------------------------------------
    async def skip_reason(self, env: Envelope) -> str | None:
        """Why this job must not run, or None."""
        once = env.middleware.get("once")
        if once and await self.driver.counter_incr(DONE_PREFIX + env.id, 0, KEEP_S) > 0:
            return "this link already completed"
        if env.batch_id:
            rec = await self.driver.batch_find(env.batch_id, with_failed=False)
            if rec is not None and rec.cancelled:
                # The skipped job and the links it would have started end here.
                for step_id in step_ids(env.chain):
                    await self.driver.batch_mark(env.batch_id, step_id, False)
                await self._mark(env, failed=False)
                return "its batch was cancelled"
        return None

    # -- after -----------------------------------------------------------------------
    async def completed(self, env: Envelope) -> None:
        """The job succeeded: continue its chain, count it in its batch."""
        if env.chain:
            await self.next_step(env.chain, owner=env.id, batch_id=env.batch_id)
        if env.batch_id:
            await self._mark(env, failed=False)
        if env.middleware.get("once"):
            await self.driver.counter_incr(DONE_PREFIX + env.id, 1, KEEP_S)

    async def failed(self, env: Envelope) -> None:
        """The job is about to land in the failed store: stop its chain, count it."""
        if env.batch_id:
            # Links after a failed one never run: they end with it.
            for step_id in step_ids(env.chain):
                await self.driver.batch_mark(env.batch_id, step_id, True)
            await self._mark(env, failed=True)
        catch = env.middleware.get("chain_catch")
        if catch:
            await self.driver.push([fresh(catch)])

    async def next_step(self, steps: list[Any], *, owner: str, batch_id: str | None) -> None:
        """Push the first of ``steps`` with the others as its chain."""
        step, rest = steps[0], list(steps[1:])
        if "batch" in step:
            from gello_queue.orchestration.batch import push_spec

            spec = step["batch"]
            if await self.driver.batch_find(spec["id"], with_failed=False) is None:
                await push_spec(self.driver, spec, chain=rest, chain_catch=step.get("chain_catch"))
            return
        await self.driver.push([fresh(step, chain=rest)])

    # -- batches ---------------------------------------------------------------------
    async def _mark(self, env: Envelope, *, failed: bool) -> None:
        assert env.batch_id is not None
        rec = await self.driver.batch_mark(env.batch_id, env.id, failed)
        if rec is not None:
            await self.after_mark(rec, owner=env.id, failed=failed)

    async def after_mark(self, rec: BatchRecord, *, owner: str, failed: bool) -> None:
        """Fire what the batch's new counts call for, each callback once."""
        opts: dict[str, Any] = orjson.loads(rec.options)
        allow = bool(opts.get("allow_failures"))
        if failed:
            if not allow:
                await self.driver.batch_cancel(rec.id)
            await self._fire(rec, "catch", opts, owner)
        if not rec.finished:
            return
        succeeded = (rec.failed == 0 or allow) and not rec.cancelled
        if succeeded:
            await self._fire(rec, "then", opts, owner)
            if opts.get("chain") and await self._claim(rec, "chain", owner):
                await self.next_step(opts["chain"], owner=owner, batch_id=None)
        elif opts.get("chain_catch"):
            await self._fire(rec, "chain_catch", {"chain_catch": [opts["chain_catch"]]}, owner)
        await self._fire(rec, "finally", opts, owner)
        if opts.get("parent"):
            await self._end_in_parent(rec, opts, owner=owner, failed=not succeeded)

    async def _end_in_parent(
        self, rec: BatchRecord, opts: dict[str, Any], *, owner: str, failed: bool
    ) -> None:
        """A batch that is a step of a chain inside another batch ended: count it there
        as one step (and, if it failed, the chain's steps after it, which never run)."""
        parent = str(opts["parent"])
        if failed:
            for step_id in step_ids(opts.get("chain") or []):
                await self.driver.batch_mark(parent, step_id, True)
        # Marks are once per id, so a repeat after a crash changes nothing.
        outer = await self.driver.batch_mark(parent, rec.id, failed)
        if outer is not None:
            await self.after_mark(outer, owner=owner, failed=failed)

    async def _claim(self, rec: BatchRecord, what: str, owner: str) -> bool:
        # Re-entrant for the job that won it: if it dies before its ack, it runs again
        # and pushes again (the push folds into the first).
        return await self.driver.lock_acquire(f"gello:batch:{rec.id}:{what}", owner, KEEP_S)

    async def _fire(self, rec: BatchRecord, what: str, opts: dict[str, Any], owner: str) -> None:
        links = opts.get(what) or []
        if not links or not await self._claim(rec, what, owner):
            return
        await self.driver.push([fresh(step) for step in links])
        get_logger().info("batch_callback", batch=rec.id, callback=what)
