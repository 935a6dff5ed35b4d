"""Dispatches held by a SQLAlchemy session: sent once when it commits, dropped otherwise."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, scoped_session, sessionmaker
from web_jobs import Base, User, Welcome

from gello_queue import GelloError, Queue, testing
from gello_queue.contrib.sqlalchemy import dispatch_after_commit, held_dispatches
from gello_queue.testing import FakeQueue

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture
def fake() -> Iterator[FakeQueue]:
    with testing.fake() as queue:
        yield queue


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    engine = create_engine(f"sqlite:///{tmp_path / 'app.db'}")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        yield session
    engine.dispose()


# -- a Session -----------------------------------------------------------------------
def test_committed_dispatches_are_sent_once_at_commit(session: Session, fake: FakeQueue) -> None:
    session.add(User(id=1, email="ada@example.com"))
    dispatch_after_commit(session, Welcome.make(user_id=1))
    fake.assert_nothing_pushed()
    assert len(held_dispatches(session)) == 1

    session.commit()
    fake.assert_pushed_times(Welcome, 1)
    fake.assert_pushed(Welcome, lambda p: p.user_id == 1)

    session.add(User(id=2, email="bob@example.com"))
    session.commit()  # a later commit sends nothing again
    fake.assert_pushed_times(Welcome, 1)
    assert held_dispatches(session) == []


def test_rolled_back_dispatches_are_dropped(session: Session, fake: FakeQueue) -> None:
    session.add(User(id=1, email="ada@example.com"))
    dispatch_after_commit(session, Welcome.make(user_id=1), Welcome.make(user_id=2))
    session.rollback()
    assert held_dispatches(session) == []
    session.commit()  # nothing left to send
    fake.assert_nothing_pushed()
    assert session.scalars(select(User)).all() == []


def test_a_session_closed_without_commit_sends_nothing(session: Session, fake: FakeQueue) -> None:
    session.add(User(id=1, email="ada@example.com"))
    dispatch_after_commit(session, Welcome.make(user_id=1))
    session.close()
    session.commit()
    fake.assert_nothing_pushed()


def test_the_session_context_sends_at_its_commit(session: Session, fake: FakeQueue) -> None:
    with session.begin():
        session.add(User(id=1, email="ada@example.com"))
        dispatch_after_commit(session, Welcome.make(user_id=1))
        fake.assert_nothing_pushed()
    fake.assert_pushed_times(Welcome, 1)

    def failing_view() -> None:
        with session.begin():
            dispatch_after_commit(session, Welcome.make(user_id=2))
            raise RuntimeError("the view failed")

    with pytest.raises(RuntimeError):
        failing_view()
    fake.assert_pushed_times(Welcome, 1)


def test_a_rolled_back_savepoint_drops_only_its_own(session: Session, fake: FakeQueue) -> None:
    dispatch_after_commit(session, Welcome.make(user_id=1))
    with session.begin_nested():
        dispatch_after_commit(session, Welcome.make(user_id=2))  # released: kept
    fake.assert_nothing_pushed()  # a released savepoint is not the commit
    savepoint = session.begin_nested()
    dispatch_after_commit(session, Welcome.make(user_id=3))
    with session.begin_nested():
        dispatch_after_commit(session, Welcome.make(user_id=4))  # inside the one rolled back
    savepoint.rollback()
    assert [p.payload["user_id"] for p in held_dispatches(session)] == [1, 2]
    session.commit()
    fake.assert_pushed_times(Welcome, 2)
    fake.assert_not_pushed(Welcome, lambda p: p.user_id in (3, 4))


def test_a_scoped_session_holds_them_in_the_current_session(
    tmp_path: Path, fake: FakeQueue
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'app.db'}")
    Base.metadata.create_all(engine)
    scoped = scoped_session(sessionmaker(engine))
    scoped.add(User(id=1, email="ada@example.com"))
    dispatch_after_commit(scoped, Welcome.make(user_id=1))
    scoped.commit()
    fake.assert_pushed_times(Welcome, 1)
    scoped.remove()
    engine.dispose()


def test_a_named_connection_receives_them(session: Session) -> None:
    queue = Queue(f"memory://gello-sa-{uuid.uuid4().hex}")
    dispatch_after_commit(session, Welcome.make(user_id=1), connection=queue)
    session.commit()
    assert queue.size_blocking("default") == 1
    queue.close_blocking()


# -- an AsyncSession -----------------------------------------------------------------
async def _exercise(sessions: async_sessionmaker[AsyncSession], fake: FakeQueue) -> None:
    async with sessions() as session:
        session.add(User(id=1, email="ada@example.com"))
        dispatch_after_commit(session, Welcome.make(user_id=1))
        await session.flush()
        fake.assert_nothing_pushed()
        await session.rollback()
        fake.assert_nothing_pushed()

        session.add(User(id=2, email="bob@example.com"))
        dispatch_after_commit(session, Welcome.make(user_id=2))
        async with session.begin_nested():
            dispatch_after_commit(session, Welcome.make(user_id=3))
        fake.assert_nothing_pushed()  # a released savepoint is not the commit
        nested = await session.begin_nested()
        dispatch_after_commit(session, Welcome.make(user_id=4))
        await nested.rollback()
        await session.commit()
        fake.assert_pushed_times(Welcome, 2)
        fake.assert_pushed(Welcome, lambda p: p.user_id == 2)
        fake.assert_pushed(Welcome, lambda p: p.user_id == 3)

        await session.commit()
        fake.assert_pushed_times(Welcome, 2)
        emails = (await session.scalars(select(User.email))).all()
        assert emails == ["bob@example.com"]


async def test_an_async_session_on_sqlite(tmp_path: Path, fake: FakeQueue) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'app.db'}")
    async with engine.begin() as con:
        await con.run_sync(Base.metadata.create_all)
    try:
        await _exercise(async_sessionmaker(engine), fake)
    finally:
        await engine.dispose()


@pytest.fixture
async def postgres_schema() -> AsyncIterator[str]:
    schema = f"gtest_sa_{uuid.uuid4().hex}"
    con = await asyncpg.connect(POSTGRES_URL)
    try:
        await con.execute(f'CREATE SCHEMA "{schema}"')
        yield schema
    finally:
        await con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await con.close()


async def test_an_async_session_on_postgresql(postgres_schema: str, fake: FakeQueue) -> None:
    engine = create_async_engine(
        POSTGRES_URL.replace("postgresql://", "postgresql+asyncpg://"),
        connect_args={"server_settings": {"search_path": postgres_schema}},
    )
    async with engine.begin() as con:
        await con.run_sync(Base.metadata.create_all)
    try:
        await _exercise(async_sessionmaker(engine), fake)
    finally:
        await engine.dispose()


async def test_a_blocking_session_inside_an_event_loop_is_refused(session: Session) -> None:
    with pytest.raises(GelloError, match="use an AsyncSession"):
        dispatch_after_commit(session, Welcome.make(user_id=1))
    assert held_dispatches(session) == []


async def test_an_async_session_awaits_a_real_queue(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'app.db'}")
    queue = Queue(f"memory://gello-sa-{uuid.uuid4().hex}")
    try:
        async with AsyncSession(engine) as session:
            dispatch_after_commit(session, Welcome.make(user_id=1), connection=queue)
            assert await queue.size() == 0
            await session.commit()
            assert await queue.size() == 1
    finally:
        await queue.close()
        await engine.dispose()
