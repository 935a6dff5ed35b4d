"""Every code block of README.md and docs/ is executed or checked; one that does not run
fails here. How each language is checked: tests/docs/blocks.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from blocks import (
    EXECUTED_EXAMPLES,
    PAGES,
    ROOT,
    Block,
    all_blocks,
    check_config,
    check_shell,
    compile_python,
)

BLOCKS = all_blocks()
MOST_NOT_RUN = 12  # blocks of other tools' code and pictures; the rest runs


def _id(block: Block) -> str:
    return block.where


def test_few_blocks_are_marked_not_run() -> None:
    marked = [b.where for b in BLOCKS if b.not_run]
    assert len(marked) <= MOST_NOT_RUN, marked


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.includes], ids=_id)
def test_included_blocks_come_from_the_executed_example(block: Block) -> None:
    for path in block.includes:
        assert (ROOT / path).is_file(), f"{block.where}: no {path}"
        assert any((ROOT / path).is_relative_to(run) for run in EXECUTED_EXAMPLES), (
            f"{block.where}: {path} is not in an example tests/docs runs"
        )


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.not_run], ids=_id)
def test_blocks_not_run_still_compile_when_python(block: Block) -> None:
    if block.lang == "python":
        compile_python(block)


@pytest.mark.parametrize(
    "block",
    [b for b in BLOCKS if b.lang in ("bash", "sh") and not b.not_run and not b.includes],
    ids=_id,
)
def test_shell_blocks(block: Block) -> None:
    check_shell(block)


@pytest.mark.parametrize(
    "block",
    [b for b in BLOCKS if b.lang in ("json", "yaml", "toml", "ini") and not b.not_run],
    ids=_id,
)
def test_configuration_blocks(block: Block) -> None:
    check_config(block)


def test_every_block_has_a_check() -> None:
    checked = {"python", "bash", "sh", "json", "yaml", "toml", "ini"}
    unchecked = [b.where for b in BLOCKS if b.lang not in checked and not b.not_run]
    assert not unchecked, f"give these blocks a checked language or a not-run marker: {unchecked}"


@pytest.mark.parametrize(
    "page",
    [p for p in PAGES if any(b.lang == "python" and b.page == p for b in BLOCKS)],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_python_blocks_run(page: Path, tmp_path: Path) -> None:
    # A fresh project directory: the settings' defaults (SQLite in ./gello.db), nothing inherited.
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("QUEUE_", "DATABASE_", "REDIS_"))
    }
    out = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("run_page.py")), str(page)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
