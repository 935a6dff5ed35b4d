"""A script with a wrong setting or URL gets its own line and one error line, not the
frames of gello's settings loader."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

DISPATCH = """
from pydantic import BaseModel
from gello_queue import Job

class Ping(BaseModel):
    n: int

class SendPing(Job[Ping]):
    async def handle(self, payload: Ping) -> None: ...

SendPing.dispatch_blocking(n=1)
"""

OPEN = """
from gello_queue import Queue
Queue("bogus://somewhere")
"""


@pytest.mark.parametrize(
    ("script", "env", "error"),
    [
        (DISPATCH, {"QUEUE_DRIVER": "nope"}, "invalid setting: QUEUE_DRIVER"),
        (OPEN, {}, "unknown queue URL scheme 'bogus'"),
    ],
    ids=["bad-driver-setting", "bad-url"],
)
def test_a_wrong_setting_in_a_script_is_its_line_and_one_error_line(
    tmp_path: Path, script: str, env: dict[str, str], error: str
) -> None:
    path = tmp_path / "script.py"
    path.write_text(script)
    run = subprocess.run(
        [sys.executable, str(path)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert lines[-1].startswith(f"gello_queue.core.errors.ConfigurationError: {error}")
    assert str(path) in run.stderr  # the script's own line
    assert "settings.py" not in run.stderr
    assert "drivers/__init__.py" not in run.stderr
    assert "dispatcher.py" not in run.stderr
    assert len(lines) <= 10, run.stderr  # was 20
