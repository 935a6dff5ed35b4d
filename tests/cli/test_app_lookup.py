"""One place names the app module: ``--app``, then ``GELLO_APP`` (environment or .env),
then ``[tool.gello] app`` in pyproject.toml found from the working directory up; a worker
without one refuses to start; every printed worker command names the app and the
connection; an app module that fails to import is shown by its user's own frames."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from cli_harness import Cli

SHOP_APP = """
from gello_queue import Job
from pydantic import BaseModel


class Sale(BaseModel):
    key: str


class RecordSale(Job[Sale]):
    async def handle(self, payload: Sale) -> None:
        with open("sales.txt", "a") as out:
            out.write(payload.key + "\\n")
"""


@pytest.fixture
def bare(cli: Cli) -> Cli:
    """The harness without GELLO_APP: the app comes from wherever the test puts it."""
    cli.env.pop("GELLO_APP")
    return cli


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def test_a_worker_without_an_app_module_refuses_to_start(bare: Cli) -> None:
    out = bare.run("queue:work", "--stop-when-empty", check=False)
    assert out.returncode == 1
    line = one_line(out.stderr)
    assert line.startswith("error: no app module")
    for way in ("[tool.gello]", "pyproject.toml", "GELLO_APP", "--app"):
        assert way in line


def test_pyproject_names_the_app_from_a_subdirectory(bare: Cli) -> None:
    (bare.cwd / "pyproject.toml").write_text(
        '[project]\nname = "shop"\n\n[tool.gello]\napp = "shop_jobs"\n'
    )
    (bare.cwd / "shop_jobs.py").write_text(SHOP_APP)
    bare.cwd = bare.cwd / "src" / "deep"
    bare.cwd.mkdir(parents=True)
    bare.run("queue:dispatch", "RecordSale", "--payload", '{"key": "s1"}')
    bare.run("queue:work", "--stop-when-empty", "--sleep", "0.05")
    assert (bare.cwd / "sales.txt").read_text() == "s1\n"


def test_gello_app_in_dot_env_names_the_app(bare: Cli) -> None:
    (bare.cwd / ".env").write_text("GELLO_APP=app_jobs\n")
    bare.run("queue:dispatch", "Ledger", "--payload", '{"key": "from-env-file"}')
    bare.run("queue:work", "--stop-when-empty", "--sleep", "0.05")
    assert bare.runs() == ["from-env-file"]


def test_a_connection_named_on_the_command_line_wins(cli: Cli) -> None:
    cli.run("queue:dispatch", "Ledger", "--payload", '{"key": "k"}')
    cli.env["QUEUE_URL"] = "memory://"  # the environment names another connection
    cli.run("queue:work", "database", "--stop-when-empty", "--sleep", "0.05")
    assert cli.runs() == ["k"]
    bad = cli.run("queue:work", "mongo", check=False)
    assert bad.returncode == 1
    assert one_line(bad.stderr).startswith("error: no connection 'mongo': use one of database")


def test_hints_name_the_app_and_the_connection(cli: Cli) -> None:
    cli.run("queue:dispatch", "Ledger", "--payload", '{"key": "k"}')
    out = cli.run("queue:status").stdout
    assert (
        "Nobody consumes 'default' (1 waiting): run "
        "`gello queue:work database --app app_jobs --queue default`"
    ) in out
    demo = cli.run("demo", "--database", str(cli.cwd / "demo.db")).stdout
    closing = demo.strip().splitlines()[-1]
    assert "gello queue:work --app gello_cli.demo_jobs" in closing
    assert f"QUEUE_URL=sqlite:///{cli.cwd / 'demo.db'}" in closing


def test_no_schedules_says_where_it_looked(bare: Cli) -> None:
    out = bare.run("queue:schedule:list").stdout
    assert "No schedules declared: no app module found" in out
    assert f"from {bare.cwd.resolve()} up" in out
    assert "GELLO_APP" in out
    listed = bare.run("queue:schedule:list", "--app", "app_jobs").stdout
    assert "No schedules declared in app module 'app_jobs' (from --app)" in listed


def write_app(cli: Cli, name: str, source: str) -> Path:
    path = cli.cwd / f"{name}.py"
    path.write_text(textwrap.dedent(source).lstrip())
    return path


@pytest.mark.parametrize(
    ("source", "error", "line"),
    [
        ("import json\n\nREPORTS = json.dumps(undefined_setting)\n", "NameError", 3),
        ("import json\n\n\ndef broken(:\n    pass\n", "SyntaxError", 4),
    ],
)
def test_an_app_error_shows_the_users_frames_only(
    bare: Cli, source: str, error: str, line: int
) -> None:
    path = write_app(bare, "broken_app", source)
    out = bare.run("queue:dispatch", "X", "--app", "broken_app", check=False)
    assert out.returncode == 1
    assert out.stderr.startswith("error: cannot import app module 'broken_app'")
    assert f'File "{path}", line {line}' in out.stderr
    assert error in out.stderr
    for machinery in ("typer", "click", "importlib", "gello_cli"):
        assert machinery not in out.stderr
    assert len(out.stderr.splitlines()) <= 8
    full = bare.run("--traceback", "queue:dispatch", "X", "--app", "broken_app", check=False)
    assert full.returncode == 1
    assert "Traceback (most recent call last)" in full.stderr
    assert "importlib" in full.stderr


def test_a_missing_package_is_named_with_the_line_importing_it(bare: Cli) -> None:
    write_app(bare, "needs_pkg", "import json\nimport requestz\n")
    out = bare.run("queue:work", "--app", "needs_pkg", check=False)
    assert out.returncode == 1
    first = out.stderr.splitlines()[0]
    assert first == (
        "error: app module 'needs_pkg' imports 'requestz', which is not installed"
        " (needs_pkg.py, line 2: import requestz)"
    )
