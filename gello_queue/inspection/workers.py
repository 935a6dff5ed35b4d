"""Naming one worker as an operator does: by id, name, ``host:pid`` or ``host:pid/name``."""

from __future__ import annotations

from collections.abc import Sequence

from gello_queue.core.errors import WorkerNotFoundError
from gello_queue.ports import WorkerRecord


def worker_label(worker: WorkerRecord) -> str:
    """How a worker is named everywhere: ``host:pid/name``."""
    return worker.label


def pick_worker(workers: Sequence[WorkerRecord], wanted: str) -> WorkerRecord:
    """The one live worker ``wanted`` names.

    Raises:
        WorkerNotFoundError: none does, or several do (two processes may share a name).
    """
    found = [w for w in workers if wanted in (w.id, w.name, f"{w.host}:{w.pid}", worker_label(w))]
    if len(found) == 1:
        return found[0]
    if found:
        labels = ", ".join(sorted(worker_label(w) for w in found))
        raise WorkerNotFoundError(
            f"{len(found)} workers go by {wanted!r} ({labels}): name one by host:pid"
        )
    known = ", ".join(sorted(worker_label(w) for w in workers)[:5]) or "none is running"
    raise WorkerNotFoundError(
        f"no live worker goes by {wanted!r}; live workers: {known} (see gello queue:status)"
    )
