"""``queue:storage``: what the backend holds against the retention limits (also part of
``queue:status``)."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from gello_cli.output import print_json, print_table

BATCHES_COUNTED = 1000
"""Batch records counted at most (listing them is the only way the port counts them)."""


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
    import asyncio

    from gello_queue import Queue
    from gello_queue.drivers import sqlite_path
    from gello_queue.retention import Limits

    async def main() -> dict[str, Any]:
        queue = Queue()
        try:
            driver = await queue.driver()
            counts = await driver.counts()
            failed = await driver.failed_count()
            oldest = await driver.failed_list(limit=1, offset=max(failed - 1, 0)) if failed else []
            now = await driver.now()
            batches = len(await driver.batch_list(limit=BATCHES_COUNTED))
            limits = Limits.from_settings(queue.settings)
            facts: dict[str, Any] = {
                "jobs": {
                    state: sum(getattr(c, state) for c in counts.values())
                    for state in ("pending", "scheduled", "reserved")
                },
                "failed": failed,
                "oldest_failed_age_s": round(now - oldest[0].failed_at, 1) if oldest else None,
                "batches": batches,
                "batches_counted_up_to": BATCHES_COUNTED,
                "limits": {
                    "failed_retention_hours": limits.failed_hours,
                    "failed_max": limits.failed_max,
                    "batch_retention_hours": limits.batch_hours,
                    "interval_s": limits.interval_s,
                    "summary": limits.describe(),
                },
                "bytes": None,
                "url": queue.url,
            }
            return facts
        finally:
            await queue.close()

    facts = asyncio.run(main())
    url = facts.pop("url")
    if url.startswith("sqlite:"):
        path = sqlite_path(url)
        files = (path, f"{path}-wal")
        facts["bytes"] = sum(os.path.getsize(p) for p in files if os.path.exists(p))
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
    ]
    if facts["bytes"] is not None:
        rows.append(("database file", f"{facts['bytes'] / 1024 / 1024:.1f} MB", ""))
    print_table("Storage (retention enforced by workers)", ["what", "held", "limit"], rows)


def _hours(hours: float) -> str:
    return f"{hours:g} h" if hours else "forever"


def _batches(facts: dict[str, Any]) -> str:
    n, cap = facts["batches"], facts["batches_counted_up_to"]
    return f"{cap}+" if n >= cap else str(n)
