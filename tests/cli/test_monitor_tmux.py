"""The real `gello queue:monitor` in a real terminal (tmux): watching a worker drain a
queue; commanding real workers from the Workers screen and retrying a filtered share of
the failed jobs from the Failed screen."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable

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


def line_with(text: str, needle: str) -> str:
    """The first line of ``text`` holding ``needle``, or ""."""
    return next((line for line in text.splitlines() if needle in line), "")


def shows(pane: Pane, check: Callable[[str], bool], timeout_s: float = 15) -> None:
    """Wait until the screen's text passes ``check``; fail with the screen at the deadline."""
    deadline = time.monotonic() + timeout_s
    while not check(text := pane.text()):
        if time.monotonic() > deadline:
            raise AssertionError(f"the screen did not show it within {timeout_s}s:\n{text}")
        time.sleep(0.05)


def filter_by(pane: Pane, text: str, empty: str) -> None:
    """Open the screen's empty filter (``empty``: its placeholder, shown once it has the
    keyboard), type ``text`` and apply it."""
    pane.tmux("send-keys", "/")
    shows(pane, lambda t: empty in t)
    pane.tmux("send-keys", "-l", text)
    pane.tmux("send-keys", "Enter")
    shows(pane, lambda t: empty not in t)


def answer_yes(pane: Pane, question: str) -> None:
    shows(pane, lambda t: question in t)
    pane.tmux("send-keys", "y")


def done_by(cli: Cli) -> dict[str, set[int]]:
    """Job key -> pids of the workers that ran it to the end (from the ledger)."""
    out: dict[str, set[int]] = {}
    if cli.ledger.exists():
        for line in cli.ledger.read_text().splitlines():
            kind, key, pid = line.split()
            if kind == "done":
                out.setdefault(key, set()).add(int(pid))
    return out


def failed_ids(cli: Cli) -> dict[str, str]:
    """Failed job id -> its exception, as `queue:failed --json` lists them."""
    return {f["id"]: f["exception"] for f in json.loads(cli.run("queue:failed", "--json").stdout)}


WORKERS_FILTER = "filter workers by host"


@pytest.mark.timeout(300)
def test_worker_control_and_a_filtered_bulk_retry_through_real_workers(cli: Cli) -> None:
    def dispatch(job: str, **payload: object) -> None:
        cli.run("queue:dispatch", job, "--payload", json.dumps(payload))

    one_at_a_time = ("--concurrency", "1", "--sleep", "0.05", "--grace", "5")
    alpha = cli.spawn("queue:work", "--name", "wkr-alpha", *one_at_a_time)
    beta = cli.spawn("queue:work", "--name", "wkr-beta", *one_at_a_time)
    pane = None
    try:
        # Failures of two kinds, before the fix is deployed (the flag file).
        for key, error in (("v1", "ValueError"), ("v2", "ValueError"), ("k1", "KeyError")):
            dispatch("Picky", key=key, error=error)
        dispatch("Picky", key="k2", error="KeyError")
        wait_for(lambda: len(failed_ids(cli)) == 4, timeout_s=60)
        by_error = failed_ids(cli)
        value_errors = {i for i, e in by_error.items() if e == "ValueError"}
        key_errors = {i for i, e in by_error.items() if e == "KeyError"}
        assert (len(value_errors), len(key_errors)) == (2, 2)

        pane = Pane(cli, "queue:monitor", "--interval", "0.5")
        shows(pane, lambda t: "Overview" in t, timeout_s=20)
        pane.tmux("send-keys", "5")
        shows(pane, lambda t: "wkr-alpha" in t and "wkr-beta" in t, timeout_s=30)

        # Pause alpha: beta alone runs what comes, one job at a time.
        filter_by(pane, "wkr-alpha", WORKERS_FILTER)
        shows(pane, lambda t: "wkr-beta" not in t and "wkr-alpha" in t)
        pane.tmux("send-keys", "t")
        shows(pane, lambda t: "paused" in line_with(t, "wkr-alpha"))
        for i in range(6):
            dispatch("Ledger", key=f"p{i}", seconds=0.3)
        wait_for(lambda: {f"p{i}" for i in range(6)} <= set(done_by(cli)), timeout_s=60)
        assert {pid for i in range(6) for pid in done_by(cli)[f"p{i}"]} == {beta.pid}

        # Resume alpha, then quiet beta: it exits, and alpha runs the next jobs.
        pane.tmux("send-keys", "t")
        shows(pane, lambda t: "running" in line_with(t, "wkr-alpha"))
        pane.tmux("send-keys", "Escape")  # clears the filter
        shows(pane, lambda t: "wkr-alpha" in t and "wkr-beta" in t)
        filter_by(pane, "wkr-beta", WORKERS_FILTER)
        shows(pane, lambda t: "wkr-alpha" not in t and "wkr-beta" in t)
        pane.tmux("send-keys", "Q")
        answer_yes(pane, "Quiet ")
        assert beta.wait(timeout=30) == 0
        for i in range(3):
            dispatch("Ledger", key=f"q{i}", seconds=0.05)
        wait_for(lambda: {"q0", "q1", "q2"} <= set(done_by(cli)), timeout_s=60)
        assert {pid for i in range(3) for pid in done_by(cli)[f"q{i}"]} == {alpha.pid}

        # The fix is deployed; retry only the ValueErrors, from the Failed screen.
        (cli.cwd / "flag").touch()
        assert cli.env["GELLO_TEST_FLAG"] == str(cli.cwd / "flag")
        pane.tmux("send-keys", "4")
        shows(pane, lambda t: "Failed jobs  rows 1\N{EN DASH}4 of 4" in t, timeout_s=15)
        filter_by(pane, "exc:ValueError", "filter: queue:NAME")
        shows(pane, lambda t: "→ rows 1\N{EN DASH}2 of 2 match" in t, timeout_s=15)
        pane.tmux("send-keys", "R")
        answer_yes(pane, "Retry 2 failed jobs")
        wait_for(lambda: {"v1", "v2"} <= set(done_by(cli)), timeout_s=60)
        assert done_by(cli)["v1"] == done_by(cli)["v2"] == {alpha.pid}
        assert set(failed_ids(cli)) == key_errors  # the others stay, untouched
        assert not {"k1", "k2"} & set(done_by(cli))
        shows(pane, lambda t: "Failed jobs: 2" in t and "→ no match" in t)

        # Stop alpha from its row: it exits as after SIGTERM.
        pane.tmux("send-keys", "5")
        shows(pane, lambda t: "Workers: 1 live" in t)
        pane.tmux("send-keys", "Escape")  # clears the filter (beta is gone)
        shows(pane, lambda t: "wkr-alpha" in t)
        filter_by(pane, "wkr-alpha", WORKERS_FILTER)
        pane.tmux("send-keys", "S")
        answer_yes(pane, "Stop ")
        assert alpha.wait(timeout=30) == 0
        pane.tmux("send-keys", "q")
        wait_for(lambda: not pane.alive(), timeout_s=10)  # type: ignore[union-attr]
    finally:
        for worker in (alpha, beta):
            if worker.poll() is None:
                worker.terminate()
                worker.wait(10)
        if pane is not None:
            pane.close()
