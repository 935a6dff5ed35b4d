"""gello in a Django project (``pip install 'gello[django]'``).

Add ``"gello_queue.contrib.django"`` to ``INSTALLED_APPS``. At start-up the app reads the
gello settings from Django's settings as well as the environment
(``gello_queue.contrib.config``: ``QUEUE_URL``, ``GELLO_REDIS_URL``...) and imports each
installed app's ``jobs.py``, so that a worker knows every job. ``dispatch(...,
after_commit=True)`` sends a job once the transaction commits (``transaction.on_commit``),
and ``manage.py gello <command>`` runs the gello command line with the project's settings
and jobs (``manage.py gello queue:work``).
"""

from __future__ import annotations

from django.db import transaction

from gello_queue import PendingDispatch, Queue, default_queue

__all__ = ["dispatch"]


def dispatch(
    pending: PendingDispatch,
    *,
    after_commit: bool = False,
    using: str | None = None,
    connection: Queue | None = None,
) -> str | None:
    """Send a job made with ``Job.make(...)`` and return its id.

    With ``after_commit=True`` the job is sent when the current transaction of database
    ``using`` commits, and dropped if it rolls back (Django's ``transaction.on_commit``;
    outside a transaction it is sent at once), and ``None`` is returned.

    Args:
        connection: the queue to send to; the default queue (read when sent) if omitted.
    """
    if not after_commit:
        return (connection or default_queue()).dispatch_blocking(pending)
    transaction.on_commit(lambda: _send(pending, connection), using=using)
    return None


def _send(pending: PendingDispatch, connection: Queue | None) -> None:
    (connection or default_queue()).dispatch_blocking(pending)
