"""The habits of the command line: a version flag, exit codes scripts can trust, one-line
errors for wrong options."""

from __future__ import annotations

import shlex
import subprocess
from importlib.metadata import version

from cli_harness import GELLO, Cli


def test_version_flag_prints_the_installed_version(cli: Cli) -> None:
    out = cli.run("--version")
    assert out.stdout.strip() == f"gello {version('gello')}"


def test_why_an_unknown_id_exits_non_zero(cli: Cli) -> None:
    out = cli.run("queue:why", "nonsense", check=False)
    assert out.returncode == 1
    assert "not found" in out.stdout
    assert "Traceback" not in out.stderr


def test_an_unknown_theme_is_one_line_naming_the_choices(cli: Cli) -> None:
    out = cli.run("queue:monitor", "--theme", "nope", check=False)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    [line] = [x for x in out.stderr.splitlines() if x.strip()]
    assert line.startswith("error: no theme 'nope'")
    assert "dark" in line


def test_dispatch_of_an_unknown_name_suggests_the_closest(cli: Cli) -> None:
    out = cli.run("queue:dispatch", "Ledgr", "--payload", '{"key": "a"}', check=False)
    assert out.returncode == 1
    assert "did you mean 'Ledger'" in out.stderr


PANELS = ["Work", "Inspect", "Failed jobs", "Batches & schedules", "Maintenance"]


def help_of(cli: Cli, *args: str) -> str:
    cli.env["COLUMNS"] = "200"  # wide enough that no description wraps
    return cli.run(*args, "--help").stdout


def test_help_groups_commands_in_panels_with_demo_in_work(cli: Cli) -> None:
    out = help_of(cli)
    titles = [p for p in PANELS if f"─ {p} ─" in out]
    assert titles == PANELS
    starts = [out.index(f"─ {p} ─") for p in PANELS]
    assert starts == sorted(starts)
    assert starts[0] < out.index(" demo ") < starts[1]


def test_help_has_no_type_placeholders_and_one_line_descriptions(cli: Cli) -> None:
    top = help_of(cli)
    rows = [line for line in top.splitlines() if line.startswith("│ ")]
    # At 200 columns every command's description fits on its own row: a row holding
    # no command name would be a docstring's line break.
    commands = [r for r in rows if r[2:].strip() and not r[2:].startswith("-")]
    assert all(r[2:].split()[0] in ("demo",) or r[2:].startswith("queue:") for r in commands)
    for args in [(), ("queue:retry",), ("queue:work",), ("queue:failed",), ("queue:why",)]:
        out = help_of(cli, *args)
        for odd in ("<bool>", "<list[str]>", "{", "}"):
            assert odd not in out, (args, odd)
    assert "Usage: gello queue:retry [OPTIONS] ID..." in help_of(cli, "queue:retry")
    assert "Usage: gello queue:work [OPTIONS] [CONNECTION]" in help_of(cli, "queue:work")


def test_retry_all_retries_every_failed_job(cli: Cli) -> None:
    for key in ("x", "y"):
        cli.run("queue:dispatch", "Toggle", "--payload", f'{{"key": "{key}"}}')
    cli.run("queue:work", "--stop-when-empty", "--sleep", "0.05")
    assert cli.run("queue:retry", "all").stdout.strip() == "Retried 2 job(s)."


def test_shell_completion_is_available(cli: Cli) -> None:
    # Typer finds the shell by walking up the process tree, as it does at a prompt: so the
    # command runs under bash (``; true`` keeps bash from exec'ing it in its own place).
    out = subprocess.run(
        ["bash", "-c", f"{shlex.quote(GELLO)} --show-completion; true"],
        env=cli.env,
        cwd=cli.cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "_GELLO_COMPLETE=complete_bash" in out.stdout, out.stderr
