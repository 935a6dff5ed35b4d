"""The integrations stay optional: the library loads no framework until one is imported."""

from __future__ import annotations

import subprocess
import sys

FRAMEWORKS = ("sqlalchemy", "fastapi", "starlette", "flask", "flask_sqlalchemy", "django")


def test_importing_the_library_loads_no_framework() -> None:
    code = (
        "import sys, gello_queue, gello_queue.contrib, gello_queue.testing; "
        f"print([m for m in {FRAMEWORKS!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
