"""The report example in examples/report runs as its run.sh tells a user to: a worker
takes the report, the poller shows its progress as it goes and prints its typed result."""

from __future__ import annotations

import re
from pathlib import Path

from helpers import run_example


def test_the_report_example_follows_its_job_to_the_result(tmp_path: Path) -> None:
    out = run_example("report", tmp_path, "bash", "run.sh")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "report for 2026-11: 8 sections, total 800" in out.stdout
    seen = re.search(r"progress updates seen: (\d+)", out.stdout)
    assert seen is not None, out.stdout
    # Seen while it ran, not only at the end (8 sections, 0.3 s each, polled every 0.1 s).
    assert int(seen.group(1)) >= 3
