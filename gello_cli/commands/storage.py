"""``queue:storage``: what the backend holds against the retention limits (also part of
``queue:status``)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gello_cli.output import print_json, print_table


def register(app: typer.Typer) -> None:
    app.command("queue:storage")(storage)


def storage(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """How much the backend holds, and the retention limits workers enforce."""
    facts = storage_facts()
    if as_json:
        print_json(facts)
    else:
        render(facts)


def storage_facts() -> dict[str, Any]:
    """Jobs by state, failed jobs and their age, batch records, the limits, and bytes
    where known."""
    from gello_cli.context import with_inspector

    facts: dict[str, Any] = with_inspector(lambda inspector: inspector.storage_facts())
    return facts


def render(facts: dict[str, Any]) -> None:
    jobs = facts["jobs"]
    limits = facts["limits"]
    age = facts["oldest_failed_age_s"]
    cap = limits["failed_max"] or "no cap"
    keep = _hours(limits["failed_retention_hours"])
    rows = [
        ("jobs", sum(jobs.values()), ", ".join(f"{k} {v}" for k, v in jobs.items())),
        ("failed", facts["failed"], f"max {cap}, kept {keep}"),
        ("oldest failed", "-" if age is None else f"{age / 3600:.1f} h", ""),
        ("batches", _batches(facts), f"finished kept {_hours(limits['batch_retention_hours'])}"),
        ("completed", _completed(facts), _completed_limit(limits)),
    ]
    if facts["bytes"] is not None:
        rows.append(("database file", f"{facts['bytes'] / 1024 / 1024:.1f} MB", ""))
    print_table("Storage (retention enforced by workers)", ["what", "held", "limit"], rows)


def _hours(hours: float) -> str:
    return f"{hours:g} h" if hours else "forever"


def _batches(facts: dict[str, Any]) -> str:
    n, cap = facts["batches"], facts["batches_counted_up_to"]
    return f"{cap}+" if n >= cap else str(n)


def _completed(facts: dict[str, Any]) -> str:
    kept = facts["completed"]
    return "-" if kept is None else str(kept["kept"])


def _completed_limit(limits: dict[str, Any]) -> str:
    per_queue = limits["completed_max_per_queue"]
    if not per_queue:
        return "history off"
    return f"newest {per_queue} per queue, kept {_hours(limits['completed_retention_hours'])}"
