"""`gello queue:monitor --web`: the dashboard in a real headless Chromium, through textual-serve.

Chromium is Debian's (scripts/services.sh installs it); without it these tests fail, on purpose.
"""

from __future__ import annotations

import asyncio
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cli_harness import GELLO, Cli
from helpers import wait_for

from gello_cli.commands.monitor_web import session_command
from gello_queue.drivers.sqlite import SqliteDriver

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tui"))
from seed import seed

CHROMIUM = "/usr/bin/chromium"
SECRET = "s3cret-web"

# The page draws the terminal on a canvas (xterm.js). Keep a handle on the terminal
# object as the page creates it, to read its screen the way a person sees it.
CAPTURE_TERMINAL = """
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  set(value) {
    if (value && value.buffer && !window.__terminal) window.__terminal = value;
    Object.defineProperty(this, "terminal", {value, writable: true, configurable: true});
  },
});
"""
SCREEN_TEXT = """() => {
  const t = window.__terminal;
  if (!t) return "";
  const rows = [];
  for (let i = 0; i < t.rows; i++) {
    const line = t.buffer.active.getLine(i);
    rows.push(line ? line.translateToString(true) : "");
  }
  return rows.join("\\n");
}"""


@pytest.fixture
def seeded(cli: Cli) -> Cli:
    # A file name holding a URL password: the dashboard shows the URL, redacted.
    path = cli.cwd / f"queue.db?password={SECRET}"
    cli.env["DATABASE_URL"] = f"sqlite:///{path}"

    async def main() -> None:
        driver = SqliteDriver(str(path))
        await driver.open()
        try:
            await seed(driver, time.time())
        finally:
            await driver.close()

    asyncio.run(main())
    return cli


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def start(cli: Cli, *args: str) -> tuple[int, subprocess.Popen[str]]:
    """``gello queue:monitor --web`` on a free port, once it answers there."""
    port = free_port()
    proc = subprocess.Popen(
        [GELLO, "queue:monitor", "--web", "--port", str(port), *args],
        env=cli.env,
        cwd=cli.cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: answers(port) or proc.poll() is not None, timeout_s=30)
    except BaseException:
        stop(proc)
        raise
    if proc.poll() is not None:
        raise AssertionError(f"the server exited {proc.returncode}: {stop(proc)}")
    return port, proc


def stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """Ctrl+C's twin (SIGTERM); what the server printed."""
    proc.terminate()
    try:
        return proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()


@contextmanager
def served(cli: Cli, *args: str) -> Iterator[int]:
    port, proc = start(cli, *args)
    try:
        yield port
    finally:
        stop(proc)


def listeners(port: int) -> list[str]:
    """Local addresses listening on ``port`` (Linux /proc), IPv4 as dotted quads."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                if len(address) == 8:
                    found.append(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
                else:
                    found.append(address)
    return found


@pytest.mark.timeout(300)
@pytest.mark.parametrize("allow_actions", [False, True], ids=["read-only", "actions"])
def test_dashboard_in_a_browser(seeded: Cli, allow_actions: bool) -> None:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: scripts/services.sh installs it"
    args = ("--allow-actions",) if allow_actions else ()
    with served(seeded, "--interval", "0.5", *args) as port, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 900})
            page.add_init_script(CAPTURE_TERMINAL)
            page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
            assert "<div>gello dashboard</div>" in page.content()  # not the served command

            def screen() -> str:
                return str(page.evaluate(SCREEN_TEXT))

            try:
                # A cold start of a session on a loaded machine (the app imported anew
                # in the session's own process) has taken over a minute.
                wait_for(lambda: "Jobs/min" in screen() and "emails" in screen(), timeout_s=120)
            except AssertionError:
                raise AssertionError(
                    f"the dashboard did not draw; the page shows:\n{screen()}"
                ) from None
            text = screen()
            assert "Throughput, last 60 min" in text
            assert ("READ-ONLY" in text) is not allow_actions
            page.focus(".xterm-helper-textarea")
            page.keyboard.press("2")
            wait_for(lambda: "p95" in screen(), timeout_s=20)
            text = screen()
            assert "reports" in text
            assert "webhooks" in text
            assert "queue.db?password=***" in text  # the status bar's URL, redacted
            for shown in (text, page.content()):
                assert SECRET not in shown
            # R retries a queue's failed jobs, after a question: only when actions are allowed.
            page.keyboard.press("R")
            if allow_actions:
                wait_for(lambda: "failed jobs of 'emails'?" in screen(), timeout_s=20)
                page.keyboard.press("Escape")
            else:
                page.keyboard.press("c")  # keys arrive in order: once c shows, R was read
                wait_for(lambda: "SendInvoice" in screen(), timeout_s=20)
                assert "failed jobs of" not in screen()
        finally:
            browser.close()


def test_served_sessions_are_read_only_unless_actions_are_allowed() -> None:
    command = shlex.split(
        session_command(queue="a b;rm", theme="light", interval=0.5, allow_actions=False)
    )
    assert command[:4] == [sys.executable, "-m", "gello_cli", "queue:monitor"]
    assert command[4:] == [
        "--theme",
        "light",
        "--interval",
        "0.5",
        "--queue",
        "a b;rm",
        "--read-only",
    ]
    allowed = shlex.split(session_command(queue=None, theme="dark", interval=2, allow_actions=True))
    assert "--read-only" not in allowed


@pytest.mark.timeout(60)
def test_default_bind_is_loopback(seeded: Cli) -> None:
    port, proc = start(seeded)
    try:
        assert listeners(port) == ["127.0.0.1"]
    finally:
        out, err = stop(proc)
    assert out.splitlines()[0] == (
        f"Serving the dashboard at http://127.0.0.1:{port}"
        " (read-only; --allow-actions enables actions); Ctrl+C stops it"
    )
    assert err == ""


@pytest.mark.timeout(60)
def test_all_interfaces_warn_that_the_network_reaches_them(seeded: Cli) -> None:
    port, proc = start(seeded, "--host", "0.0.0.0")
    try:
        assert listeners(port) == ["0.0.0.0"]
    finally:
        out, err = stop(proc)
    assert out.splitlines()[0] == (
        f"Serving the dashboard at http://{socket.gethostname()}:{port}"
        " (read-only; --allow-actions enables actions); Ctrl+C stops it"
    )
    assert err.strip() == (
        f"warning: 0.0.0.0:{port} is reachable from the network: anyone who reaches it sees"
        " the queues"
    )
    assert SECRET not in out + err


@pytest.mark.timeout(60)
def test_port_in_use_is_one_line_and_exit_1(seeded: Cli) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = seeded.run("queue:monitor", "--web", "--port", str(port), check=False, timeout=30)
    assert out.returncode == 1
    assert out.stderr.strip() == (
        f"error: port {port} on 127.0.0.1 is already in use: choose another with --port"
    )
    assert out.stdout == ""


def test_web_options_need_web(cli: Cli) -> None:
    out = cli.run("queue:monitor", "--port", "9000", "--allow-actions", check=False)
    assert out.returncode == 1
    assert out.stderr.strip() == "error: --port and --allow-actions need --web"
    out = cli.run("queue:monitor", "--web", "--once", check=False)
    assert out.returncode == 1
    assert (
        out.stderr.strip() == "error: --web serves the live dashboard: drop --once, --json, --max"
    )
