"""Running an example under examples/ as a new user would: a fresh copy, the virtualenv's
bin first on PATH, no queue settings inherited from the test machine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(name: str, tmp_path: Path, *command: str) -> subprocess.CompletedProcess[str]:
    project = tmp_path / name
    shutil.copytree(EXAMPLES / name, project, ignore=shutil.ignore_patterns("*.db*", "__pycache__"))
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("QUEUE_", "DATABASE_", "REDIS_"))
    }
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return subprocess.run(
        list(command), cwd=project, env=env, capture_output=True, text=True, timeout=120
    )
