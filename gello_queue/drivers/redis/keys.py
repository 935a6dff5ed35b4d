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
                                   attempts, name (the job's), fp (its fingerprint)
    P{q:<queue>}:fx:f:<fp>   zset  id -> failed_at: the queue's failures of one fingerprint
    P{q:<queue>}:fx:n        hash  fingerprint -> how many failures have it
    P{q:<queue>}:fx:name     hash  fingerprint -> job name (one per fingerprint)
    P{q:<queue>}:fx:exc      hash  fingerprint -> exception class (likewise)
    P{q:<queue>}:fx:todo     set   ids failed by a script alone (rescue, a malformed
                                   job): indexed by the next failed-store query
    P{q:<queue>}:fx:v        str   set once the queue's older failures were indexed
                                   attempts
    P{q:<queue>}:done        zset  completed-job history: the record (JSON: id, name,
                                   attempts, worker, wait_s, runtime_s, finished_at,
                                   payload) -> finished_at; written and trimmed to the
                                   newest QUEUE_KEEP_COMPLETED by the ack_recording script
    P{q:<queue>}:done:m      zset  the monitored completed jobs (they carried a monitored
                                   tag), as ``done``: written by the same script, never
                                   trimmed by count, pruned at QUEUE_KEEP_MONITORED_HOURS

Global structures share the tag ``{g}`` (one slot, small and rarely written)::

    P{g}:queues              set   every queue name ever pushed to (rescue and the
                                   inspection calls iterate it); the push script adds to
                                   it on standalone Redis, the client just before the
                                   push on a cluster (another slot)
    P{g}:paused              set   paused queue names
    P{g}:monitored           hash  monitored tag -> since (epoch seconds)
    P{g}:restart             str   server time of the last restart signal
    P{g}:server              hash  the last server restart workers noticed: id, count,
                                   at, persistent (see ``server.py``)
    P{g}:workers             zset  worker id -> last heartbeat (server time)
    P{g}:worker:<id>         str   heartbeat record (JSON), PX = the worker's ttl
    P{g}:worker:<id>:cmd     str   a command left for the worker (pause, quiet...), EX 1 h
    P{g}:tp                  zset  minute -> minute: index of throughput buckets
    P{g}:tp:<minute>         hash  p:<queue> / f:<queue> counters, EXPIRE one day
    P{g}:tm                  zset  minute -> minute: index of timing buckets
    P{g}:tm:<minute>         hash  [queue, job, series, bucket] (JSON) -> count: that
                                   minute's wait and run histograms and outcome counts
                                   per job class (``core.timing``), EXPIRE one day
    P{g}:batches             zset  batch id -> created_at
    P{g}:events              list  operational events (``OpsEvent`` as JSON), the latest
                                   recorded first: LTRIM to EVENTS_KEPT, EXPIRE
                                   EVENTS_KEPT_S after the latest; older ones are
                                   left out when read

Coordination keys and batches have a hash tag each, so they spread over a cluster and
every call touches one slot::

    P{c:<key>}:n             str   a shared counter
    P{c:<key>}:l             str   a lock -> its owner
    P{b:<id>}                hash  a batch: name, total, processed, failed, created_at,
                                   finished_at, cancelled_at, options
    P{b:<id>}:jobs           hash  job id -> p / f
    P{r:<id>}                str   a job's kept result (JSON), PX = its keep_result
    P{p:<id>}                str   a job's progress (JSON: fraction, message,
                                   updated_at), PX = a day from its last write

The failed store is kept per queue, inside the queue's slot, so failing a job is atomic
even on a cluster; listing all queues newest first merges the per-queue zsets, and a
failed store is pruned by age with ``failed_prune``. A fingerprint stands for one job
name and one exception class, so a filter by name, exception or fingerprint picks the
fingerprints it keeps from ``fx:name``/``fx:exc`` and pages their zsets merged, by a
(failed_at, id) cursor; counts and groups read ``fx:n``, one field per fingerprint.
Throughput and timing buckets expire after a day, and a dead worker's heartbeat with its
key's TTL.

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
    watched: str
    """The monitored completed jobs (``done:m``)."""
    job: str
    failed_job: str
    unique: str
    failed_index: str
    """Prefix of the failed store's indexes (see the key layout)."""


class KeyScheme:
    """The key names under ``prefix``; each queue's are built once and kept."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        g = f"{prefix}{{g}}:"
        self.queues = g + "queues"
        self.paused = g + "paused"
        self.monitored = g + "monitored"
        self.restart = g + "restart"
        self.workers = g + "workers"
        self.worker = g + "worker:"
        self.tp = g + "tp"
        self.tp_bucket = g + "tp:"
        self.tm = g + "tm"
        self.tm_bucket = g + "tm:"
        self.batches = g + "batches"
        self.events = g + "events"
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
                t + "done:m",
                t + "j:",
                t + "f:",
                t + "u:",
                t + "fx:",
            )
            self._of[queue] = k
        return k

    def coord(self, key: str, kind: str) -> str:
        """A coordination key: ``n`` for a counter, ``l`` for a lock."""
        return f"{self.prefix}{{c:{key}}}:{kind}"

    def result(self, job_id: str) -> str:
        """A job's kept result."""
        return f"{self.prefix}{{r:{job_id}}}"

    def result_wake(self, job_id: str) -> str:
        """The list a waiter for a job's result blocks on (the result's slot)."""
        return f"{self.prefix}{{r:{job_id}}}:w"

    def progress(self, job_id: str) -> str:
        """A job's progress."""
        return f"{self.prefix}{{p:{job_id}}}"

    def batch(self, batch_id: str) -> tuple[str, str]:
        """A batch's record and its job marks."""
        t = f"{self.prefix}{{b:{batch_id}}}"
        return t, t + ":jobs"
