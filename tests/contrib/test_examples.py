"""The web examples under examples/ run as their docstrings tell a user to."""

from __future__ import annotations

import sys
from pathlib import Path

import helpers
import pytest


def run_example(name: str, tmp_path: Path, *command: str) -> str:
    out = helpers.run_example(name, tmp_path, *command)
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
