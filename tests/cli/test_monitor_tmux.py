"""The real `gello queue:monitor` in a real terminal (tmux), watching a worker drain a queue."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import uuid

import pytest
from cli_harness import GELLO, Cli
from helpers import wait_for

TMUX = shutil.which("tmux")

pytestmark = pytest.mark.skipif(
    TMUX is None,
    reason="tmux is not installed (scripts/services.sh installs it): the terminal check is skipped",
)


class Pane:
    """One tmux server of our own (-L socket), so no other session is touched."""

    def __init__(self, cli: Cli, *args: str) -> None:
        self.socket = f"gello-test-{uuid.uuid4().hex[:12]}"
        script = cli.cwd / "monitor.sh"
        exports = "".join(
            f"export {k}={shlex.quote(v)}\n"
            for k, v in cli.env.items()
            # sh rejects other names; the terminal's own size must win over the test's
            if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k) and k not in ("COLUMNS", "LINES")
        )
        script.write_text(
            f"{exports}cd {shlex.quote(str(cli.cwd))}\nexec {GELLO} {shlex.join(args)}\n"
        )
        self.tmux("new-session", "-d", "-x", "120", "-y", "40", f"sh {shlex.quote(str(script))}")

    def tmux(self, *args: str) -> str:
        assert TMUX is not None
        cmd = [TMUX, "-L", self.socket, "-f", "/dev/null", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout

    def text(self) -> str:
        return self.tmux("capture-pane", "-p")

    def alive(self) -> bool:
        return bool(self.tmux("list-sessions").strip())

    def close(self) -> None:
        self.tmux("kill-server")


def row(text: str, queue: str) -> list[str] | None:
    """The cells of a queue's row in the overview table."""
    for line in text.splitlines():
        cells = line.split()
        if cells and cells[0] == queue and len(cells) >= 5 and cells[1].replace(" ", "").isdigit():
            return cells
    return None


def test_monitor_follows_a_worker_draining_a_queue(cli: Cli) -> None:
    for i in range(3):
        cli.run(
            "queue:dispatch", "Ledger", "--payload", json.dumps({"key": f"k{i}", "seconds": 0.05})
        )
    pane = Pane(cli, "queue:monitor", "--interval", "0.5")
    worker = None
    try:
        wait_for(lambda: row(pane.text(), "default"), timeout_s=20)
        text = pane.text()
        assert row(text, "default")[1] == "3"  # type: ignore[index]
        assert "Nobody consumes 'default' (3 waiting)" in text  # with the worker command
        assert "LIVE" in text
        worker = cli.spawn("queue:work", "--sleep", "0.05")
        # a drained queue stays in the table (the worker listens to it), with 0 pending
        wait_for(lambda: (row(pane.text(), "default") or ["", ""])[1] == "0", timeout_s=30)
        wait_for(lambda: "Throughput, last 60 min: 3 processed" in pane.text(), timeout_s=30)
        text = pane.text()
        assert "(1)" in text  # one live worker in the KPI tiles
        assert "Nobody consumes 'default'" not in text
        pane.tmux("send-keys", "5")
        wait_for(lambda: "Workers: 1 live" in pane.text(), timeout_s=10)
        pane.tmux("send-keys", "q")
        wait_for(lambda: not pane.alive(), timeout_s=10)
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(10)
        pane.close()
