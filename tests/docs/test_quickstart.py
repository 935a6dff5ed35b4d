"""The getting-started app in examples/quickstart runs as the guide tells a new user to."""

from __future__ import annotations

from pathlib import Path

from helpers import run_example


def test_the_quickstart_runs_as_written(tmp_path: Path) -> None:
    out = run_example("quickstart", tmp_path, "bash", "run.sh")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "dispatched 3 more" in out.stdout
    for user in ("ada", "user2", "user3", "user4"):
        assert f"mail to {user}@example.com: welcome" in out.stdout
    assert "4 passed" in out.stdout  # the example's own tests, sync and async
