"""SQL kept in ``.sql`` files beside the driver that runs it.

Two shapes, shared by the SQL drivers: ``queries.sql`` holds statements under
``-- name: <name>`` headers, and ``migrations/NNNN_<name>.sql`` the schema, one file per
version, numbered from 1 without gaps. Both are read once; what a driver does with the
text (render placeholders, split statements) is its own business.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

_NAME_HEADER = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)
_MIGRATION_FILE = re.compile(r"^(\d{4})_(\w+)\.sql$")


def named_statements(text: str) -> dict[str, str]:
    """The statements of ``text`` by their ``-- name:`` header, trailing ``;`` removed.

    Raises:
        ValueError: a name is used twice (the second would silently replace the first).
    """
    parts = _NAME_HEADER.split(text)
    # parts = [preamble, name1, body1, name2, body2, ...]
    found: dict[str, str] = {}
    for i in range(1, len(parts), 2):
        name = parts[i]
        if name in found:
            raise ValueError(f"SQL statement {name!r} is defined twice")
        found[name] = parts[i + 1].strip().rstrip(";")
    return found


def package_queries(package: str, filename: str = "queries.sql") -> dict[str, str]:
    """The named statements of ``filename`` shipped in ``package``."""
    return named_statements(resources.files(package).joinpath(filename).read_text("utf-8"))


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema version: what to run to reach it from the one before."""

    version: int
    name: str
    sql: str


def read_migrations(directory: Traversable, *, label: str) -> tuple[Migration, ...]:
    """The ``NNNN_<name>.sql`` files of ``directory``, oldest first.

    Raises:
        RuntimeError: the versions are not 1..n (a gap or a repeated number would skip or
            reorder a step on some databases).
    """
    found: list[Migration] = []
    for entry in directory.iterdir():
        match = _MIGRATION_FILE.match(entry.name)
        if match is not None:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"{label} migrations are not numbered 1..n: {versions}")
    return tuple(found)


def package_migrations(package: str, *, label: str) -> tuple[Migration, ...]:
    """The migrations shipped in ``package``'s ``migrations`` directory."""
    return read_migrations(resources.files(package).joinpath("migrations"), label=label)
