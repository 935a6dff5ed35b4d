"""The web examples under examples/ run as their docstrings tell a user to."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(name: str, tmp_path: Path, *command: str) -> str:
    project = tmp_path / name
    shutil.copytree(EXAMPLES / name, project, ignore=shutil.ignore_patterns("*.db*", "__pycache__"))
    # A fresh project: no queue settings inherited, the settings' defaults (./gello.db).
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("QUEUE_", "DATABASE_", "REDIS_"))
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    # What activating the virtualenv does: its bin first on PATH.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    out = subprocess.run(
        list(command),
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout + out.stderr


@pytest.mark.parametrize(("name", "tests"), [("fastapi", 2), ("flask", 2)])
def test_the_example_app_passes_its_own_tests(name: str, tests: int, tmp_path: Path) -> None:
    out = run_example(
        name, tmp_path, sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"
    )
    assert f"{tests} passed" in out


def test_the_sqlalchemy_example_queues_only_the_committed_signup(tmp_path: Path) -> None:
    out = run_example("sqlalchemy", tmp_path, sys.executable, "signup.py")
    assert "queued 1 of 2 sign-ups" in out


def test_the_django_example_runs_as_written(tmp_path: Path) -> None:
    out = run_example("django", tmp_path, "bash", "run.sh")
    # manage.py gello queue:work ran with the queue Django's settings name (queue.db, not
    # the default gello.db) and found the job in shop/jobs.py.
    assert "queue.db" in out
    assert "mail to ada@example.com: welcome" in out
    assert not (tmp_path / "django" / "gello.db").exists()
    assert "Ran 3 tests" in out
    assert "\nOK\n" in out
