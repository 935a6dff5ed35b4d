"""A real web server under load: uvicorn serving an async view (``await dispatch``) and
a plain view (``dispatch_blocking`` from the server's thread pool), 2,000 requests at
500 concurrent clients, with no error, on PostgreSQL, Redis and SQLite; the server
process holds one driver and at most QUEUE_POOL_MAX connections, never a pool per thread."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from backends.postgres import POSTGRES_URL
from backends.redis import REDIS_URL

ROOT = Path(__file__).resolve().parents[2]
POOL_MAX = 10  # QUEUE_POOL_MAX below
# The server holds one driver, its event loop's: the plain view's blocking calls run on
# it too. A driver opens at most QUEUE_POOL_MAX connections (a worker adds one to LISTEN,
# which a web app does not).
MOST_CONNECTIONS = POOL_MAX


# 4,000 requests through one server on two cores shared with the load generator: a
# minute on a quiet machine, several on a busy one.
@pytest.mark.timeout(600)
@pytest.mark.parametrize(
    "url", [POSTGRES_URL, REDIS_URL, "sqlite"], ids=["postgres", "redis", "sqlite"]
)
def test_two_thousand_requests_at_five_hundred_concurrent_all_succeed(
    url: str, tmp_path: Path
) -> None:
    if url == "sqlite":
        url = f"sqlite:///{tmp_path / 'web.db'}"
    env = {**os.environ, "QUEUE_POOL_MAX": str(POOL_MAX)}
    run = subprocess.run(
        [
            sys.executable,
            "benchmarks/web.py",
            "--url",
            url,
            "--requests",
            "2000",
            "--concurrency",
            "500",
            "--views",
            "async,sync",
            "--json",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    rows = {r["view"]: r for r in json.loads(run.stdout.splitlines()[-1])}
    for view in ("async", "sync"):
        assert rows[view]["errors"] == 0, rows[view]["error_kinds"]
    if not url.startswith("sqlite"):
        assert 1 <= rows["sync"]["peak_connections"] <= MOST_CONNECTIONS, rows
