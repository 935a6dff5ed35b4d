"""The schema in the database: its version, and the migrations that bring it up to date.

Kept apart from the driver because it runs before there is a driver to speak of:
``gello queue:migrate`` migrates on a connection of its own, without opening the pool.
"""

from __future__ import annotations

import zlib
from typing import Any

import structlog

from gello_queue.drivers.postgres.sql import Names, migrations, quote_ident

log = structlog.get_logger("gello")


def qualified(names: Names, name: str) -> str:
    """The quoted, schema-qualified name of the installation's table ``name``."""
    return f"{quote_ident(names.schema)}.{quote_ident(names.prefix + name)}"


async def read_version(con: Any, names: Names) -> int:
    """The version of the schema in the database (0 when there is none)."""
    migrations_table = qualified(names, "migrations")
    exists = await con.fetchval("SELECT to_regclass($1) IS NOT NULL", migrations_table)
    if not exists:
        return 0
    version = await con.fetchval(f"SELECT coalesce(max(version), 0) FROM {migrations_table}")
    return int(version)


async def migrate_on(con: Any, names: Names) -> int:
    """Apply on ``con`` the migrations the database lacks; return the schema version.

    Safe to run concurrently: migrators queue on an advisory lock held for the
    transaction, and each re-reads the version once it holds the lock.
    """
    migrations_table = qualified(names, "migrations")
    lock = zlib.crc32(f"gello:migrate:{names.schema}:{names.prefix}".encode())
    async with con.transaction():
        await con.execute("SELECT pg_advisory_xact_lock($1::bigint)", lock)
        await con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(names.schema)}")
        await con.execute(
            f"CREATE TABLE IF NOT EXISTS {migrations_table} (version integer PRIMARY KEY,"
            " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        current = int(
            await con.fetchval(f"SELECT coalesce(max(version), 0) FROM {migrations_table}")
        )
        for migration in migrations():
            if migration.version <= current:
                continue
            log.info("postgres_migration", version=migration.version, name=migration.name)
            await con.execute(names.render(migration.sql))
            await con.execute(
                f"INSERT INTO {migrations_table} (version, name) VALUES ($1, $2)",
                migration.version,
                migration.name,
            )
            current = migration.version
    return current
