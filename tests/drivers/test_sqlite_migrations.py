"""SQLite schema migrations: numbered files, each applied once, over databases in the field."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from helpers import envelope

from gello_queue.core.failed_query import fingerprint
from gello_queue.core.states import JobState
from gello_queue.drivers.sql_files import Migration, read_migrations
from gello_queue.drivers.sqlite import SqliteDriver
from gello_queue.drivers.sqlite import sql as sqlite_sql
from gello_queue.ports import BatchRecord, CompletedJob, FailedJob, FailedQuery

LATEST = sqlite_sql.MIGRATIONS[-1].version
WHOLE_SCHEMA_V2 = Path(__file__).parent / "data" / "sqlite_schema_v2_whole.sql"


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        yield db


def version_of(path: Path) -> int:
    with connect(path) as db:
        return sqlite_sql.schema_version(db)


def schema_of(path: Path) -> list[tuple[str, str, str]]:
    with connect(path) as db:
        rows = db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")
        return [tuple(r) for r in rows.fetchall()]


def columns_of(path: Path, table: str) -> list[str]:
    with connect(path) as db:
        return [r[1] for r in db.execute(f"PRAGMA table_info({table})").fetchall()]


def build_at_version_2_the_former_way(path: Path) -> None:
    """What gello did before numbered migrations: run schema.sql whole, then record 2."""
    with connect(path) as db:
        for statement in WHOLE_SCHEMA_V2.read_text().split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute("PRAGMA user_version = 2")


def migrations_dir_with(tmp_path: Path, extra: dict[str, str]) -> tuple[Migration, ...]:
    """The shipped migrations copied into a directory, plus ``extra`` files."""
    directory = tmp_path / "migrations"
    directory.mkdir()
    for migration in sqlite_sql.MIGRATIONS:
        (directory / f"{migration.version:04d}_{migration.name}.sql").write_text(migration.sql)
    for name, text in extra.items():
        (directory / name).write_text(text)
    return read_migrations(directory, label="SQLite")


async def test_a_new_file_gets_every_migration_in_order(tmp_path: Path) -> None:
    driver = SqliteDriver(tmp_path / "new.db")
    await driver.open()
    await driver.close()
    assert version_of(tmp_path / "new.db") == LATEST
    assert "unique_until" in columns_of(tmp_path / "new.db", "gello_jobs")


async def test_a_version_1_database_migrates_to_the_latest_keeping_its_rows(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v1.db"
    job, failed = envelope(), envelope(queue="mail")
    with connect(path) as db:
        assert sqlite_sql.migrate(db, sqlite_sql.MIGRATIONS[:1]) == 1
        db.execute(
            "INSERT INTO gello_jobs (id, queue, priority, available_at, created_at, attempts,"
            " max_attempts, body) VALUES (?, ?, 0, ?, ?, 0, 3, ?)",
            (job.id, job.queue, job.available_at, job.created_at, job.encode().decode()),
        )
        db.execute(
            "INSERT INTO gello_failed_jobs VALUES (?, 'mail', 'Echo', ?, 'E', 'm', 't', 1.0, 3)",
            (failed.id, failed.encode().decode()),
        )
    assert version_of(path) == 1
    assert "unique_until" not in columns_of(path, "gello_jobs")

    driver = SqliteDriver(path)
    await driver.open()
    try:
        assert version_of(path) == LATEST
        [record] = await driver.jobs(None, JobState.PENDING)
        assert (record.id, record.body) == (job.id, job.encode().decode())
        kept = await driver.failed_find(failed.id)
        assert kept is not None
        assert kept.queue == "mail"
        # What version 2 added works on the migrated file.
        batch = BatchRecord(id="b1", name="nightly", total=1, options="{}")
        await driver.batch_push(batch, [envelope()])
        assert await driver.lock_acquire("k", "me", 30.0)
        [held] = await driver.reserve(["default"], 1, lease_s=30.0, worker_id="w")
        assert held.id == job.id
    finally:
        await driver.close()


async def test_a_database_built_before_numbered_migrations_opens_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new, latest = tmp_path / "old.db", tmp_path / "new.db", tmp_path / "latest.db"
    build_at_version_2_the_former_way(old)
    job = envelope()
    with connect(new) as db:
        sqlite_sql.migrate(db, sqlite_sql.MIGRATIONS[:2])
    # The numbered files build exactly the schema the whole file built.
    assert schema_of(old) == schema_of(new)

    seeded = SqliteDriver(old)
    await seeded.open()
    await seeded.push([job])
    await seeded.close()
    fresh = SqliteDriver(latest)
    await fresh.open()
    await fresh.close()
    # Nothing up to version 2 may run again on it (these would fail if they did); the
    # later ones bring it to the latest schema.
    poisoned = tuple(
        Migration(m.version, m.name, "NOT SQL AT ALL;") if m.version <= 2 else m
        for m in sqlite_sql.MIGRATIONS
    )
    monkeypatch.setattr(sqlite_sql, "MIGRATIONS", poisoned)
    driver = SqliteDriver(old)
    await driver.open()
    try:
        assert (await driver.find(job.id)) is not None
    finally:
        await driver.close()
    assert schema_of(old) == schema_of(latest)
    assert version_of(old) == LATEST


async def test_a_further_migration_applies_on_top_of_the_latest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "latest.db"
    job = envelope()
    driver = SqliteDriver(path)
    await driver.open()
    await driver.push([job])
    await driver.close()
    assert version_of(path) == LATEST

    third = (
        "-- A comment; with a semicolon in it.\n"
        "ALTER TABLE gello_jobs ADD COLUMN note TEXT;\n"
        "CREATE TABLE gello_notes (id TEXT PRIMARY KEY, text TEXT NOT NULL);\n"
        "INSERT INTO gello_notes VALUES ('n1', 'a;b');\n"
    )
    migrations = migrations_dir_with(tmp_path, {f"{LATEST + 1:04d}_notes.sql": third})
    monkeypatch.setattr(sqlite_sql, "MIGRATIONS", migrations)
    driver = SqliteDriver(path)
    await driver.open()
    try:
        assert (await driver.find(job.id)) is not None
    finally:
        await driver.close()
    assert version_of(path) == LATEST + 1
    assert "note" in columns_of(path, "gello_jobs")
    with connect(path) as db:
        assert db.execute("SELECT id, text FROM gello_notes").fetchall() == [("n1", "a;b")]


async def test_a_failing_migration_leaves_the_version_before_it_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "latest.db"
    driver = SqliteDriver(path)
    await driver.open()
    await driver.failed_import([FailedJob("f1", "q", "Echo", "{}", "E", "m", "t", 1.0, 1)])
    await driver.close()
    broken = (
        "CREATE TABLE gello_notes (id TEXT PRIMARY KEY);\n"
        "INSERT INTO gello_no_such_table VALUES (1);\n"
    )
    migrations = migrations_dir_with(tmp_path, {f"{LATEST + 1:04d}_broken.sql": broken})
    monkeypatch.setattr(sqlite_sql, "MIGRATIONS", migrations)
    driver = SqliteDriver(path)
    with pytest.raises(sqlite3.OperationalError, match="gello_no_such_table"):
        await driver.open()
    assert version_of(path) == LATEST
    with connect(path) as db:
        assert (
            db.execute("SELECT name FROM sqlite_master WHERE name = 'gello_notes'").fetchall() == []
        )
        assert db.execute("SELECT id FROM gello_failed_jobs").fetchall() == [("f1",)]


def test_a_statement_without_its_final_semicolon_is_refused() -> None:
    with connect(Path(":memory:")) as db:
        step = Migration(1, "bad", "CREATE TABLE a (x);\nCREATE TABLE b (y)\n")
        with pytest.raises(ValueError, match="without its final ';'"):
            sqlite_sql.migrate(db, [step])
        assert sqlite_sql.schema_version(db) == 0


async def test_failures_stored_before_fingerprints_are_grouped_and_filtered(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v3.db"
    old = [envelope(queue="mail", name="Mailer") for _ in range(3)]
    with connect(path) as db:
        assert sqlite_sql.migrate(db, sqlite_sql.MIGRATIONS[:3]) == 3
        for n, env in enumerate(old):
            db.execute(
                "INSERT INTO gello_failed_jobs VALUES (?, 'mail', 'Mailer', ?, 'OSError',"
                " ?, 't', ?, 3)",
                (env.id, env.encode().decode(), f"disk {n} full", 10.0 + n),
            )
    driver = SqliteDriver(path)
    await driver.open()
    try:
        assert "fingerprint" in columns_of(path, "gello_failed_jobs")
        [group] = await driver.failed_groups(FailedQuery())
        stored = await driver.failed_find(old[0].id)
        assert stored is not None
        assert (group.fingerprint, group.count) == (fingerprint(stored), 3)
        page = await driver.failed_search(FailedQuery(fingerprint=group.fingerprint))
        assert [f.id for f in page.jobs] == [e.id for e in reversed(old)]
    finally:
        await driver.close()


async def test_history_kept_one_row_per_job_reads_back_after_the_flush_layout(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v9.db"
    with connect(path) as db:
        assert sqlite_sql.migrate(db, sqlite_sql.MIGRATIONS[:9]) == 9
        db.executemany(
            "INSERT INTO gello_completed VALUES (?, ?, 'Mailer', 2, 'w1', 0.5, 0.25, ?, ?, ?, ?)",
            [
                ("a", "mail", 100.0, '{"to": "x"}', '["customer:42"]', 1),
                ("b", "mail", 200.0, None, None, 0),
                ("c", "media", 150.0, None, None, 0),
            ],
        )
    driver = SqliteDriver(path)
    await driver.open()
    try:
        kept = await driver.recent()
        assert [(c.id, c.queue, c.finished_at) for c in kept] == [
            ("b", "mail", 200.0),
            ("c", "media", 150.0),
            ("a", "mail", 100.0),
        ]
        assert kept[2] == CompletedJob(
            id="a",
            queue="mail",
            name="Mailer",
            attempts=2,
            worker="w1",
            wait_s=0.5,
            runtime_s=0.25,
            finished_at=100.0,
            payload='{"to": "x"}',
            tags='["customer:42"]',
            monitored=True,
        )
        assert [c.id for c in await driver.recent(tag="customer:42")] == ["a"]
        assert await driver.history_counts() == {"mail": 2, "media": 1}
        with connect(path) as db:  # emptied for a worker of the release before
            assert db.execute("SELECT count(*) FROM gello_completed").fetchone() == (0,)
    finally:
        await driver.close()
