"""Dispatch after a SQLAlchemy session commits (``pip install 'gello[sqlalchemy]'``).

A job dispatched inside a transaction may run before the transaction commits, and then
finds no row, or run for a row that a rollback took away. ``dispatch_after_commit`` holds
the dispatch in the session (``session.info``) until its transaction commits: then it is
sent, once; a rollback, or a session closed without committing, drops it. A job
dispatched inside a savepoint (``begin_nested()``) is dropped if that savepoint rolls
back, and otherwise waits for the outermost transaction's commit.

Works with a ``Session``, an ``AsyncSession`` and a ``scoped_session`` (Flask-SQLAlchemy's
``db.session``). With an ``AsyncSession`` the dispatch is awaited on the session's own
event loop, inside ``await session.commit()``; with a ``Session`` it is sent by the
blocking twin.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction, scoped_session
from sqlalchemy.util.concurrency import await_only

from gello_queue import GelloError, PendingDispatch, Queue, default_queue

__all__ = ["dispatch_after_commit", "held_dispatches"]

_KEY = "gello.after_commit"
"""Where a session's held dispatches live in ``session.info``."""


@dataclass(slots=True)
class _Held:
    """The dispatches a session holds until it commits."""

    awaited: bool
    """Sent by awaiting the async dispatch (the session is an ``AsyncSession``)."""
    pending: list[_Dispatch] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Dispatch:
    made: PendingDispatch
    connection: Queue | None
    savepoint: SessionTransaction | None
    """The innermost savepoint open when it was dispatched: its rollback drops it."""


def dispatch_after_commit(
    session: Session | AsyncSession | scoped_session[Any],
    *pending: PendingDispatch,
    connection: Queue | None = None,
) -> None:
    """Send ``pending`` (jobs made with ``Job.make(...)``) when ``session`` commits.

    Nothing is sent if the transaction rolls back or the session closes without
    committing. Each dispatch is sent exactly once, in order, to ``connection`` (the
    default queue when omitted, as it is at commit time). A dispatch that fails at commit
    raises from ``commit()``, after the data was committed.

    Raises:
        GelloError: a (blocking) ``Session`` inside a running event loop: its commit
            could not send without blocking the loop; use an ``AsyncSession`` there.
    """
    held = _held(session)
    if not held.awaited and _loop_running():
        raise GelloError(
            "dispatch_after_commit was given a Session inside a running event loop, where"
            " its commit cannot send without blocking the loop: use an AsyncSession"
        )
    savepoint = _sync_session(session).get_nested_transaction()
    held.pending.extend(_Dispatch(p, connection, savepoint) for p in pending)


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def held_dispatches(session: Session | AsyncSession | scoped_session[Any]) -> list[PendingDispatch]:
    """The dispatches ``session`` holds until it commits (for tests and debugging)."""
    target = _sync_session(session)
    held = target.info.get(_KEY)
    return [] if held is None else [d.made for d in held.pending]


def _sync_session(session: Session | AsyncSession | scoped_session[Any]) -> Session:
    if isinstance(session, AsyncSession):
        return session.sync_session
    if isinstance(session, scoped_session):
        current: Session = session()  # the session of the current scope (thread, request)
        return current
    return session


def _held(session: Session | AsyncSession | scoped_session[Any]) -> _Held:
    target = _sync_session(session)
    held = target.info.get(_KEY)
    if held is None:
        held = target.info[_KEY] = _Held(awaited=isinstance(session, AsyncSession))
        # Listeners on this session alone: other sessions pay nothing.
        event.listen(target, "after_commit", _send)
        event.listen(target, "after_soft_rollback", _drop_rolled_back_savepoint)
        event.listen(target, "after_transaction_end", _drop)
    assert isinstance(held, _Held)
    return held


def _send(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the outermost transaction has not committed yet
    held: _Held = session.info[_KEY]
    # Taken before sending: a commit made while sending cannot send them twice.
    pending, held.pending = held.pending, []
    for dispatch in pending:
        queue = dispatch.connection or default_queue()
        if held.awaited:
            # The commit runs in the AsyncSession's greenlet: this awaits on its loop.
            await_only(queue.dispatch(dispatch.made))
        else:
            queue.dispatch_blocking(dispatch.made)


def _drop_rolled_back_savepoint(session: Session, previous_transaction: SessionTransaction) -> None:
    # A savepoint rolled back: drop what was dispatched inside it, or inside a savepoint
    # nested in it (released ones included). The outermost rollback is ``_drop``'s.
    if previous_transaction.nested:
        held: _Held = session.info[_KEY]
        held.pending = [d for d in held.pending if not _within(d.savepoint, previous_transaction)]


def _within(savepoint: SessionTransaction | None, ended: SessionTransaction) -> bool:
    while savepoint is not None:
        if savepoint is ended:
            return True
        savepoint = savepoint.parent
    return False


def _drop(session: Session, transaction: SessionTransaction) -> None:
    # The outermost transaction ended without a commit that sent them: rolled back,
    # or closed. (After a commit, ``_send`` has already emptied the list.)
    if transaction.parent is None:
        held: _Held = session.info[_KEY]
        held.pending.clear()
