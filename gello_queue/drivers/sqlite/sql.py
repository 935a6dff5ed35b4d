"""The SQLite driver's SQL: named statements and the numbered schema migrations.

Both are read once, when the driver is imported, so no call pays for the files. The
schema version lives in ``PRAGMA user_version``, as it always has: a database at the
latest version opens without a write.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Final

from gello_queue.drivers.sql_files import Migration, package_migrations, package_queries

_PACKAGE = "gello_queue.drivers.sqlite"

Q: Final[dict[str, str]] = package_queries(_PACKAGE)
"""Every statement of ``queries.sql`` by name."""

MIGRATIONS: tuple[Migration, ...] = package_migrations(_PACKAGE, label="SQLite")
"""``migrations/NNNN_*.sql``, oldest first: version n is reached by applying file n."""


def schema_version(db: sqlite3.Connection) -> int:
    """The version recorded in the database file (0 for a new one)."""
    (version,) = db.execute("PRAGMA user_version").fetchone()
    return int(version)


def migrate(db: sqlite3.Connection, migrations: Sequence[Migration] | None = None) -> int:
    """Apply, oldest first, each migration newer than the database; return its version.

    Each one runs in its own ``BEGIN IMMEDIATE`` transaction with the version it reaches,
    so it is applied exactly once even when several processes open a new file together
    (the version is read again under the write lock), and a failing one leaves the
    database at the version before it. A database newer than ``migrations`` is left alone.

    Args:
        db: a connection in autocommit mode (``isolation_level=None``).
        migrations: the steps to apply, numbered 1..n; ``MIGRATIONS`` when None.
    """
    steps = MIGRATIONS if migrations is None else migrations
    version = schema_version(db)
    while version < len(steps):
        db.execute("BEGIN IMMEDIATE")
        try:
            version = schema_version(db)
            if version < len(steps):
                step = steps[version]
                for statement in _statements(step.sql):
                    db.execute(statement)
                # An int from the file name: PRAGMA takes no bound parameter.
                db.execute(f"PRAGMA user_version = {step.version:d}")
                version = step.version
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    return version


def _statements(script: str) -> Iterator[str]:
    """The statements of ``script`` one by one.

    ``executescript`` would run them all, but it commits any open transaction first;
    ``complete_statement`` tells where one ends, ignoring ``;`` in comments and strings.
    """
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending
            pending = ""
    if _has_code(pending):
        raise ValueError(f"SQL statement without its final ';': {pending.strip()!r}")


def _has_code(text: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in text.splitlines())
