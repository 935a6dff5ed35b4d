"""Bad input at the CLI's edges: one clear line, a non-zero exit, never a traceback; and
destructive commands ask first."""

from __future__ import annotations

import json
import shlex
import subprocess

import pytest
from cli_harness import Cli


def one_error_line(out: subprocess.CompletedProcess[str], starts: str) -> None:
    assert out.returncode != 0, out.stdout
    assert "Traceback" not in out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith(starts), lines[0]


@pytest.mark.parametrize("size", ["abc", "inf", "nan", "-5MB", "0", "1e400", "MB"])
def test_a_memory_limit_that_is_not_a_positive_size_is_refused(cli: Cli, size: str) -> None:
    out = cli.run("queue:work", "--stop-when-empty", "--memory", size, check=False)
    one_error_line(out, "error: --memory")
    assert "512MB" in out.stderr  # says what a valid value looks like


def test_a_memory_limit_in_any_unit_is_accepted(cli: Cli) -> None:
    for size in ("512MB", "1.5G", "300", "2048k"):
        cli.run("queue:work", "--stop-when-empty", "--memory", size)


def test_a_failed_listing_limit_past_the_range_is_one_line(cli: Cli) -> None:
    for limit in ("99999999999999999999", "0"):
        out = cli.run("queue:failed", "--limit", limit, check=False)
        one_error_line(out, "error: --limit")
    assert cli.run("queue:failed", "--limit", "100000").stdout.strip() == "No failed jobs."


def _fail_one(cli: Cli) -> None:
    cli.run("queue:dispatch", "Toggle", "--payload", '{"key": "t"}')
    cli.run("queue:work", "--stop-when-empty", "--sleep", "0.05")
    assert len(json.loads(cli.run("queue:failed", "--json").stdout)) == 1


def test_flush_asks_first_and_keeps_everything_unless_confirmed(cli: Cli) -> None:
    _fail_one(cli)
    out = cli.run("queue:flush", check=False)  # no answer on standard input
    one_error_line(out, "error: nothing deleted")
    assert "--force" in out.stderr
    out = cli.run("queue:flush", check=False, input="n\n")
    one_error_line(out, "error: nothing deleted")
    assert len(json.loads(cli.run("queue:failed", "--json").stdout)) == 1

    assert "Deleted 1 failed job(s)." in cli.run("queue:flush", input="y\n").stdout
    _fail_one(cli)
    assert "Deleted 1 failed job(s)." in cli.run("queue:flush", "-y").stdout
    _fail_one(cli)
    assert "Deleted 1 failed job(s)." in cli.run("queue:flush", "--force").stdout


def test_clear_takes_the_same_answers_as_flush(cli: Cli) -> None:
    cli.run("queue:dispatch", "Ledger", "--payload", '{"key": "a"}')
    one_error_line(cli.run("queue:clear", "default", check=False), "error: nothing deleted")
    assert "Cleared 1 jobs" in cli.run("queue:clear", "default", "-y").stdout


def test_the_resume_hint_after_pause_can_be_pasted_into_a_shell(cli: Cli) -> None:
    name = "reports; touch pwned"
    out = cli.run("queue:pause", name)
    hint = out.stdout.split("`")[1]
    assert hint == f"gello queue:resume {shlex.quote(name)}"
    assert shlex.split(hint) == ["gello", "queue:resume", name]
