"""The getting-started app in examples/quickstart runs as the guide tells a new user to."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"


def test_the_quickstart_runs_as_written(tmp_path: Path) -> None:
    project = tmp_path / "quickstart"
    shutil.copytree(QUICKSTART, project, ignore=shutil.ignore_patterns("*.db*", "__pycache__"))
    # What activating the virtualenv does: its bin first on PATH, no queue settings inherited.
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("QUEUE_", "DATABASE_", "REDIS_"))
    }
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    out = subprocess.run(
        ["bash", "run.sh"], cwd=project, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "dispatched 3 more" in out.stdout
    for user in ("ada", "user2", "user3", "user4"):
        assert f"mail to {user}@example.com: welcome" in out.stdout
    assert "4 passed" in out.stdout  # the example's own tests, sync and async
