"""Fixtures for tests that run the real `gello` command."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cli_harness import HERE, Cli


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("QUEUE_", "DATABASE_", "REDIS_"))
    }
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'queue.db'}",
        QUEUE_DRIVER="database",
        PYTHONPATH=str(HERE),
        GELLO_APP="app_jobs",
        GELLO_TEST_LEDGER=str(tmp_path / "ledger.txt"),
        GELLO_TEST_FLAG=str(tmp_path / "flag"),
        QUEUE_LEASE="2",
    )
    return Cli(env=env, ledger=tmp_path / "ledger.txt", cwd=tmp_path)
