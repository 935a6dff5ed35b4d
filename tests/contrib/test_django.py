"""gello's Django app under Django's own test runner, in a process of its own (Django is
configured once per process): tests/contrib/django_site holds the project and its tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def test_the_django_app_passes_its_tests_under_the_django_runner() -> None:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("QUEUE_", "DATABASE_", "REDIS_"))
    }
    env.pop("GELLO_APP", None)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "django",
            "test",
            "django_site.members",
            "--settings=django_site.settings",
            f"--pythonpath={HERE}",
            "--verbosity=2",
        ],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Ran 8 tests" in out.stderr
