"""Fixtures: an isolated backend of each persistent kind for chaos tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from chaos_harness import Backend, isolated_backend


@pytest.fixture(params=["sqlite", "postgres", "redis", "rabbitmq", "sqs"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    with isolated_backend(request.param, tmp_path) as found:
        yield found


@pytest.fixture
def postgres_backend(tmp_path: Path) -> Iterator[Backend]:
    with isolated_backend("postgres", tmp_path) as found:
        yield found
