"""The report example in examples/report runs as its run.sh tells a user to: a worker
takes the report, the poller shows its progress as it goes and prints its typed result."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPORT = Path(__file__).resolve().parents[2] / "examples" / "report"


def test_the_report_example_follows_its_job_to_the_result(tmp_path: Path) -> None:
    project = tmp_path / "report"
    shutil.copytree(REPORT, project, ignore=shutil.ignore_patterns("*.db*", "__pycache__"))
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("QUEUE_", "DATABASE_", "REDIS_"))
    }
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    out = subprocess.run(
        ["bash", "run.sh"], cwd=project, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "report for 2026-11: 8 sections, total 800" in out.stdout
    seen = re.search(r"progress updates seen: (\d+)", out.stdout)
    assert seen is not None, out.stdout
    # Seen while it ran, not only at the end (8 sections, 0.3 s each, polled every 0.1 s).
    assert int(seen.group(1)) >= 3
