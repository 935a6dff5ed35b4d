"""Every key name the Redis driver uses, under one prefix.

Key layout (``P`` is the prefix, ``gello:`` by default)
-------------------------------------------------------
Every key of one queue shares the hash tag ``{q:<queue>}``, so each script touches one
slot and runs unchanged on Redis Cluster::

    P{q:<queue>}:ready       zset  id -> (10 - priority) * 1e13 + available_at in ms:
                                   ZPOPMIN gives higher priority first, then oldest
                                   (ties: ids are UUIDv7, so lexical order is FIFO)
    P{q:<queue>}:delayed     zset  id -> available_at (s); due jobs move to ready inside
                                   the reserve script, so no scheduler process is needed
    P{q:<queue>}:reserved    zset  id -> lease expiry (server time, s)
    P{q:<queue>}:j:<id>      hash  the job, in few fields because each costs on every push:
                                   body (the envelope, stored as given)
                                   m = "available_at|priority|max_attempts|created_at"
                                   n = attempts (absent until the first reserve)
                                   l = "token|worker_id" while reserved (the token,
                                       fresh per reserve call, proves the lease)
                                   u = unique key (only when the job has one)
    P{q:<queue>}:u:<key>     str   unique-key lock -> id of the job holding it
    P{q:<queue>}:wake        list  wake-up tokens (at most 16) for blocked ``wait`` calls
    P{q:<queue>}:failed      zset  id -> failed_at: the queue's share of the failed store
    P{q:<queue>}:f:<id>      hash  queue, body, exception, message, traceback, failed_at,
                                   attempts
    P{q:<queue>}:done        zset  completed-job history: the record (JSON: id, name,
                                   attempts, worker, wait_s, runtime_s, finished_at,
                                   payload) -> finished_at; written and trimmed to the
                                   newest QUEUE_KEEP_COMPLETED by the ack_recording script

Global structures share the tag ``{g}`` (one slot, small and rarely written)::

    P{g}:queues              set   every queue name ever pushed to (rescue and the
                                   inspection calls iterate it); the push script adds to
                                   it on standalone Redis, the client just before the
                                   push on a cluster (another slot)
    P{g}:paused              set   paused queue names
    P{g}:restart             str   server time of the last restart signal
    P{g}:server              hash  the last server restart workers noticed: id, count,
                                   at, persistent (see ``server.py``)
    P{g}:workers             zset  worker id -> last heartbeat (server time)
    P{g}:worker:<id>         str   heartbeat record (JSON), PX = the worker's ttl
    P{g}:tp                  zset  minute -> minute: index of throughput buckets
    P{g}:tp:<minute>         hash  p:<queue> / f:<queue> counters, EXPIRE one day
    P{g}:batches             zset  batch id -> created_at

Coordination keys and batches have a hash tag each, so they spread over a cluster and
every call touches one slot::

    P{c:<key>}:n             str   a shared counter
    P{c:<key>}:l             str   a lock -> its owner
    P{b:<id>}                hash  a batch: name, total, processed, failed, created_at,
                                   finished_at, cancelled_at, options
    P{b:<id>}:jobs           hash  job id -> p / f
    P{r:<id>}                str   a job's kept result (JSON), PX = its keep_result

The failed store is kept per queue, inside the queue's slot, so failing a job is atomic
even on a cluster; listing all queues newest first merges the per-queue zsets, and a
failed store is pruned by age with ``failed_prune``. Throughput buckets expire after a
day, and a dead worker's heartbeat with its key's TTL.

Consequences worth knowing: unique keys are scoped to a queue (the lock must share the
queue's slot to be taken atomically with the enqueue); ``find``, ``cancel``, ``promote``
and the failed-store calls by id ask every known queue in one pipelined round trip.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class QueueKeys:
    """One queue's keys (``job``, ``failed_job`` and ``unique`` are prefixes)."""

    ready: str
    delayed: str
    reserved: str
    wake: str
    failed: str
    done: str
    job: str
    failed_job: str
    unique: str


class KeyScheme:
    """The key names under ``prefix``; each queue's are built once and kept."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        g = f"{prefix}{{g}}:"
        self.queues = g + "queues"
        self.paused = g + "paused"
        self.restart = g + "restart"
        self.workers = g + "workers"
        self.worker = g + "worker:"
        self.tp = g + "tp"
        self.tp_bucket = g + "tp:"
        self.batches = g + "batches"
        self.server = g + "server"
        self._of: dict[str, QueueKeys] = {}

    def of(self, queue: str) -> QueueKeys:
        """The keys of ``queue``."""
        k = self._of.get(queue)
        if k is None:
            t = f"{self.prefix}{{q:{queue}}}:"
            k = QueueKeys(
                t + "ready",
                t + "delayed",
                t + "reserved",
                t + "wake",
                t + "failed",
                t + "done",
                t + "j:",
                t + "f:",
                t + "u:",
            )
            self._of[queue] = k
        return k

    def coord(self, key: str, kind: str) -> str:
        """A coordination key: ``n`` for a counter, ``l`` for a lock."""
        return f"{self.prefix}{{c:{key}}}:{kind}"

    def result(self, job_id: str) -> str:
        """A job's kept result."""
        return f"{self.prefix}{{r:{job_id}}}"

    def batch(self, batch_id: str) -> tuple[str, str]:
        """A batch's record and its job marks."""
        t = f"{self.prefix}{{b:{batch_id}}}"
        return t, t + ":jobs"
