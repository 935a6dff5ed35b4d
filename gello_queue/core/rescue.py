"""What happens to a job whose lease expired: its worker stopped answering.

One decision for every driver. The memory, SQLite and broker drivers call it; Redis
(``rescue.lua``) and PostgreSQL (``queries.sql``, ``rescue``) keep an atomic copy that
names this function, and a contract test holds each driver to it.
"""

from __future__ import annotations

LOST_WORKER_EXCEPTION = "WorkerLost"
"""The exception name a rescued job's failure is stored with."""
LOST_WORKER_REASON = "the worker running it stopped answering (lease expired on its last attempt)"
"""The message a rescued job's failure is stored with."""


def rescue_fails(attempts: int, max_attempts: int | None) -> bool:
    """Whether an expired lease sends its job to the failed store (True) or back to
    pending, due now (False).

    Attempts are counted at reserve, so the dead worker's run used one: a job whose
    ``attempts`` reached ``max_attempts`` has none left. An unknown limit (a broker
    message whose body could not be read) never fails it here.
    """
    return max_attempts is not None and attempts >= max_attempts
