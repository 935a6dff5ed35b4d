"""The shared reader of drivers' ``.sql`` files."""

from __future__ import annotations

from pathlib import Path

import pytest

from gello_queue.drivers.sql_files import named_statements, read_migrations


def test_named_statements_are_split_by_header_without_their_semicolon() -> None:
    text = "-- preamble\n\n-- name: one\n-- why\nSELECT 1;\n\n-- name: two\nSELECT 2;\n"
    assert named_statements(text) == {"one": "-- why\nSELECT 1", "two": "SELECT 2"}


def test_a_name_used_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="'one' is defined twice"):
        named_statements("-- name: one\nSELECT 1;\n-- name: one\nSELECT 2;\n")


def test_migrations_come_oldest_first_and_other_files_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "0002_second.sql").write_text("B")
    (tmp_path / "0001_first.sql").write_text("A")
    (tmp_path / "README.md").write_text("not a migration")
    found = read_migrations(tmp_path, label="Test")
    assert [(m.version, m.name, m.sql) for m in found] == [(1, "first", "A"), (2, "second", "B")]


def test_a_gap_in_the_migration_numbers_is_refused(tmp_path: Path) -> None:
    (tmp_path / "0001_first.sql").write_text("A")
    (tmp_path / "0003_third.sql").write_text("C")
    with pytest.raises(RuntimeError, match=r"Test migrations are not numbered 1..n: \[1, 3\]"):
        read_migrations(tmp_path, label="Test")
