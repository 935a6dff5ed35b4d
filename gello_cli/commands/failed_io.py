"""Moving failed jobs between environments: ``queue:failed --export`` and
``queue:failed:import``.

The export is JSON lines, one failed job per line, written page by page through the port.
Payload fields named like secrets are written as ``***`` (the dashboard's rule) unless
``--reveal`` asks for an exact replay.
The import validates the whole file first (every problem named by line and field) and
imports nothing if any line is wrong. Then, by default, it restores the records into the
failed store as they were (``failed_import``: same ids, failures and times; a record
already there is left alone), so ``queue:failed`` lists them and ``queue:retry`` /
``queue:retry-all`` replay them, which is what replaying production failures in staging
needs. ``--requeue`` instead puts each job back on its queue as a new pending job.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from gello_cli.context import JsonOpt, with_inspector

if TYPE_CHECKING:
    from gello_queue.inspection import Inspector

FORMAT = "gello.failed.v1"
PAGE = 500
FIELDS: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "queue": str,
    "name": str,
    "body": str,
    "exception": str,
    "message": str,
    "traceback": str,
    "failed_at": (int, float),
    "attempts": int,
}


def register(app: typer.Typer) -> None:
    app.command("queue:failed:import")(import_command)


def export_to(path: Path, queue: str | None = None, *, reveal: bool = False) -> int:
    """Export the failed store (of ``queue``) of the configured connection to ``path``;
    payload fields named like secrets are redacted unless ``reveal``."""
    count: int = with_inspector(lambda i: export_failed(i, path, queue, reveal=reveal))
    return count


async def export_failed(
    inspector: Inspector, path: Path, queue: str | None = None, *, reveal: bool = False
) -> int:
    """Write the failed store (oldest page last, as listed) to ``path``; return the count.
    Payload fields named like secrets are written as ``***`` unless ``reveal``."""
    from gello_queue.inspection import redact_body

    count = 0
    seen: set[str] = set()
    with path.open("wb") as out:
        offset = 0
        while True:
            page = await inspector.failed(queue=queue, limit=PAGE, offset=offset)
            for job in page:
                if job.id in seen:
                    continue  # a job failing meanwhile shifts pages by one
                seen.add(job.id)
                line = {"format": FORMAT, **{k: getattr(job, k) for k in FIELDS}}
                if not reveal:
                    line["body"] = redact_body(job.body)
                out.write(orjson.dumps(line) + b"\n")
                count += 1
            if len(page) < PAGE:
                return count
            offset += PAGE


def validate(lines: list[bytes], registry: Any = None) -> tuple[list[dict[str, Any]], list[str]]:
    """Parse and check every line; return the records and the problems (``line N: ...``)."""
    from gello_queue import Envelope, EnvelopeError, UnknownJobError

    records: list[dict[str, Any]] = []
    problems: list[str] = []
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        where = f"line {number}"
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            problems.append(f"{where}: not JSON ({exc})")
            continue
        if not isinstance(data, dict):
            problems.append(f"{where}: expected a JSON object")
            continue
        if data.get("format") != FORMAT:
            problems.append(f"{where}: format must be {FORMAT!r}, got {data.get('format')!r}")
            continue
        bad = [
            f"{key} must be {_names(kind)}"
            for key, kind in FIELDS.items()
            if not isinstance(data.get(key), kind) or isinstance(data.get(key), bool)
        ]
        if bad:
            problems.append(f"{where}: " + "; ".join(bad))
            continue
        try:
            env = Envelope.decode(data["body"])
        except EnvelopeError as exc:
            problems.append(f"{where}: body is not a gello envelope ({exc}): cannot be replayed")
            continue
        if registry is not None:
            try:
                job_cls = registry.get(env.name)
                if env.encrypted is None:  # an encrypted payload is checked when it runs
                    job_cls.payload_model.model_validate(env.payload)
            except UnknownJobError:
                problems.append(f"{where}: job {env.name!r} is not registered here (--app)")
                continue
            except Exception as exc:
                problems.append(f"{where}: payload of {env.name} is invalid here: {exc}")
                continue
        records.append({**data, "envelope": env})
    return records, problems


def _names(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    words = {"str": "a string", "int": "an integer", "float": "a number"}
    return " or ".join(words.get(k.__name__, k.__name__) for k in kinds)


def import_command(
    file: Annotated[Path, typer.Argument(help="A JSON-lines file from queue:failed --export.")],
    queue: Annotated[
        str | None, typer.Option("--queue", help="Put every job on this queue instead.")
    ] = None,
    requeue: Annotated[
        bool,
        typer.Option(
            "--requeue", help="Put the jobs back on their queues as new pending jobs instead."
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate only; import nothing.")
    ] = False,
    app: Annotated[
        str | None,
        typer.Option("--app", help="Also check job names and payloads against this app's jobs."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Validate exported failed jobs and restore them into the failed store (to list and
    retry here), or with --requeue put them back on their queues to run again."""
    from gello_cli.context import import_app
    from gello_cli.output import print_json
    from gello_queue import default_registry

    if not file.exists():
        typer.echo(f"error: no such file: {file}", err=True)
        raise typer.Exit(1)
    if app:
        import_app(app)
    records, problems = validate(file.read_bytes().splitlines(), default_registry if app else None)
    if problems:
        for problem in problems[:50]:
            typer.echo(f"error: {file}: {problem}", err=True)
        more = len(problems) - 50
        if more > 0:
            typer.echo(f"error: ... and {more} more", err=True)
        typer.echo("Nothing imported.", err=True)
        raise typer.Exit(1)
    if queue:
        records = [_on_queue(r, queue) for r in records]
    result: dict[str, Any] = {"valid": len(records), "imported": 0, "ids": {}}
    if not dry_run and records:
        action = requeue_records if requeue else restore
        result.update(with_inspector(lambda i: action(i, records)))
    where = "as new pending jobs" if requeue else "into the failed store"
    if as_json:
        print_json({**result, "into": "pending" if requeue else "failed"})
        return
    if dry_run:
        typer.echo(f"Would import {len(records)} failed job(s) from {file} {where}.")
        return
    typer.echo(f"Imported {result['imported']} failed job(s) from {file} {where}.")
    if result.get("already"):
        typer.echo(f"{result['already']} were already in the failed store and were left alone.")
    if result.get("past_retention"):
        typer.echo(
            f"{result['past_retention']} failed longer ago than the failed-job retention"
            " (QUEUE_FAILED_RETENTION_HOURS): workers prune them at their next pass."
        )
    if not requeue and records:
        typer.echo("List them with `gello queue:failed`; replay with `gello queue:retry-all`.")


def _on_queue(record: dict[str, Any], queue: str) -> dict[str, Any]:
    """``record`` moved to ``queue`` (its envelope too, so a retry goes there)."""
    env = record["envelope"].with_changes(queue=queue)
    return {**record, "queue": queue, "body": env.encode().decode(), "envelope": env}


async def restore(inspector: Inspector, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Put validated records into the failed store as they were."""
    from gello_queue import FailedJob

    jobs = [FailedJob(**{k: r[k] for k in FIELDS}) for r in records]
    imported = await inspector.import_failed(jobs)
    cutoff = await inspector.failed_retention_cutoff()
    return {
        "imported": imported,
        "already": len({j.id for j in jobs}) - imported,
        "ids": {j.id: j.id for j in jobs},
        "past_retention": sum(1 for j in jobs if cutoff is not None and j.failed_at < cutoff),
    }


async def requeue_records(inspector: Inspector, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Push each validated record's job as a new pending job with fresh attempts."""
    from gello_queue.inspection import new_id

    now = time.time()
    envelopes = [
        r["envelope"].with_changes(
            id=new_id(),
            attempts=0,
            available_at=now,
            created_at=now,
            reason=f"imported: {r['exception']}: {r['message']}"[:500],
        )
        for r in records
    ]
    stored = await inspector.push_envelopes(envelopes)
    ids = {r["id"]: new for r, new in zip(records, stored, strict=True)}
    return {"imported": len(ids), "ids": ids}
