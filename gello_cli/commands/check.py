"""``gello queue:check``: before a deploy, the jobs in storage that the code about to run
could not run (a job name no longer registered, a payload that no longer validates after
upcasting, a message a newer deploy wrote).

Exit 0: every job read can run. Exit 1: some would be stranded (or the check could not
run: the error says why). Run it in CI against a copy of production storage.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gello_cli.context import JsonOpt
from gello_cli.output import print_json, print_table

STRANDED = 1

_REASON_TEXT = {
    "not_registered": "not registered",
    "invalid_payload": "invalid payload",
    "newer_version": "newer version",
    "unreadable": "unreadable",
}


def register(app: typer.Typer) -> None:
    app.command("queue:check")(check)


def check(
    app: Annotated[
        str | None,
        typer.Option("--app", help="Module that registers the jobs of the code to deploy."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Before a deploy: list the waiting, scheduled, reserved and failed jobs this code could
    not run (exit 1 when any)."""
    from gello_cli.context import import_app, with_inspector
    from gello_queue import ConfigurationError, default_registry, load_settings
    from gello_queue.inspection import APP_HOWTO, DeployCheck

    if import_app(app).module is None:
        # Without the app's jobs every stored job would look unregistered.
        raise ConfigurationError(f"no app module names the jobs to check against: {APP_HOWTO}")
    keyring = load_settings().keyring()  # encrypted payloads are checked when it is held
    report: DeployCheck = with_inspector(lambda i: i.check_runnable(default_registry, keyring))
    if as_json:
        print_json(report.to_json())
    else:
        _render(report)
    if not report.ok:
        raise typer.Exit(STRANDED)


def _render(report: Any) -> None:
    checked = report.checked
    typer.echo(
        f"Checked {checked['pending']} pending, {checked['scheduled']} scheduled,"
        f" {checked['reserved']} reserved and {checked['failed']} failed jobs."
    )
    for line in report.unchecked:
        typer.echo(f"Not checked: {line}.")
    if report.ok:
        typer.echo("Every job checked can run with this code.")
        return
    rows = [
        (
            g.name,
            _REASON_TEXT.get(str(g.reason), str(g.reason)),
            g.count,
            ", ".join(f"{n} {state}" for state, n in g.states.items()),
            g.sample_id,
            g.detail,
        )
        for g in report.stranded
    ]
    columns = ["job", "reason", "count", "states", "sample id", "detail"]
    print_table("Jobs this code could not run", columns, rows, keep=["sample id"])
    typer.echo(
        f"{report.stranded_count} job(s) would be stranded by this code:"
        " register the missing names, write an `upcast` for the old payloads,"
        " or deploy only once the newer ones have run."
    )
