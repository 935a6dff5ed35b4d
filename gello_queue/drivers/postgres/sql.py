"""PostgreSQL's ``.sql`` files (read by ``drivers.sql_files``), rendered once per schema
and table prefix.

Statements are written against placeholders rather than fixed names so one database can
hold several gello installations (per schema, per prefix). Identifiers are substituted
quoted, never interpolated raw: the schema and prefix come from configuration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from gello_queue.core.errors import ConfigurationError
from gello_queue.drivers.sql_files import Migration, package_migrations, package_queries

_PLACEHOLDER = re.compile(r"\{\{([@=!]?)(\w+)\}\}")
_MAX_IDENTIFIER = 63
"""PostgreSQL silently truncates longer names, which could merge two installations."""


def quote_ident(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    if not name or "\x00" in name:
        raise ConfigurationError(f"invalid PostgreSQL identifier {name!r}")
    if len(name.encode()) > _MAX_IDENTIFIER:
        raise ConfigurationError(
            f"PostgreSQL identifier {name!r} is longer than {_MAX_IDENTIFIER} bytes:"
            " use a shorter schema or table prefix"
        )
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """``value`` as an SQL string literal (standard_conforming_strings is on since 9.1)."""
    if "\x00" in value:
        raise ConfigurationError(f"invalid SQL string {value!r}")
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True, slots=True)
class Names:
    """Where one installation's tables live."""

    schema: str
    prefix: str
    channel: str
    relaxed_commits: bool = False
    """Render ``{{!relaxed}}`` so worker-side statements commit without a WAL flush."""

    def render(self, sql: str) -> str:
        """Replace ``{{table}}``, ``{{@bare_name}}``, ``{{schema}}``, ``{{=channel}}`` and
        ``{{!relaxed}}`` (a condition that is always true, and when relaxed commits are on
        sets ``synchronous_commit`` off for the statement's own transaction)."""

        def sub(match: re.Match[str]) -> str:
            kind, word = match.group(1), match.group(2)
            if kind == "!":
                if word != "relaxed":
                    raise ValueError(f"unknown condition placeholder {word!r}")
                if not self.relaxed_commits:
                    return "true"
                return "(SELECT set_config('synchronous_commit', 'off', true)) IS NOT NULL"
            if kind == "=":
                if word != "channel":
                    raise ValueError(f"unknown literal placeholder {word!r}")
                return quote_literal(self.channel)
            if word == "schema" and not kind:
                return quote_ident(self.schema)
            if kind == "@":
                return quote_ident(self.prefix + word)
            return f"{quote_ident(self.schema)}.{quote_ident(self.prefix + word)}"

        return _PLACEHOLDER.sub(sub, sql)


@cache
def _query_source() -> dict[str, str]:
    return package_queries("gello_queue.drivers.postgres")


def queries(names: Names) -> dict[str, str]:
    """Every named statement of ``queries.sql``, rendered for ``names``."""
    return {name: names.render(sql) for name, sql in _query_source().items()}


@cache
def migrations() -> tuple[Migration, ...]:
    """The migrations shipped with gello, oldest first."""
    return package_migrations("gello_queue.drivers.postgres", label="PostgreSQL")


def latest_version() -> int:
    """The schema version this code needs."""
    return migrations()[-1].version
