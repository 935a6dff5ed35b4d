"""The habits of the command line: a version flag, exit codes scripts can trust, one-line
errors for wrong options."""

from __future__ import annotations

from importlib.metadata import version

from cli_harness import Cli


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
