"""gello in a Flask app (``pip install 'gello[flask]'``).

``Gello(app)`` (or ``gello.init_app(app)`` in an application factory) reads the gello
settings from ``app.config`` (``QUEUE_URL``, ``QUEUE_DEFAULT``, ``GELLO_REDIS_URL``...; see
``gello_queue.contrib.config``) and makes that queue the default one. Views run without
an event loop, so they dispatch with the blocking twins, or with ``gello.dispatch``,
whose ``after_commit=True`` holds the job in Flask-SQLAlchemy's ``db.session`` until the
request's transaction commits (``gello_queue.contrib.sqlalchemy``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask, current_app

from gello_queue import ConfigurationError, PendingDispatch, Queue, default_queue
from gello_queue.contrib.config import configure_default_queue
from gello_queue.contrib.sqlalchemy import dispatch_after_commit

if TYPE_CHECKING:
    from flask_sqlalchemy import SQLAlchemy

__all__ = ["Gello"]


class Gello:
    """The Flask extension: ``Gello(app)``, or ``Gello()`` then ``init_app(app)``.

    Args:
        app: the application, when not using an application factory.
        db: the ``flask_sqlalchemy.SQLAlchemy`` whose session ``after_commit`` uses;
            defaults to the one registered on the application.
    """

    def __init__(self, app: Flask | None = None, *, db: SQLAlchemy | None = None) -> None:
        self.db = db
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Register on ``app`` and make the queue its config describes the default one.

        Raises:
            ConfigurationError: a gello setting in ``app.config`` has a wrong value.
        """
        configure_default_queue(app.config)
        app.extensions["gello"] = self

    @property
    def queue(self) -> Queue:
        """The default queue (a ``testing.fake()`` when one is installed)."""
        return default_queue()

    def dispatch(self, pending: PendingDispatch, *, after_commit: bool = False) -> str | None:
        """Send a job made with ``Job.make(...)`` and return its id; with
        ``after_commit=True``, hold it until ``db.session`` commits and return ``None``
        (a rollback, or a request that ends without committing, drops it).

        Raises:
            ConfigurationError: ``after_commit`` without Flask-SQLAlchemy on the app.
        """
        if not after_commit:
            return self.queue.dispatch_blocking(pending)
        dispatch_after_commit(self._db().session, pending)
        return None

    def _db(self) -> SQLAlchemy:
        db: SQLAlchemy | None = self.db or current_app.extensions.get("sqlalchemy")
        if db is None:
            raise ConfigurationError(
                "dispatch(after_commit=True) holds the job in Flask-SQLAlchemy's session:"
                " initialise flask_sqlalchemy.SQLAlchemy on the app, or pass Gello(db=...)"
            )
        return db
