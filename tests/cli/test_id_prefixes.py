"""Ids are taken by any unique prefix of 8 characters or more, as git takes short hashes,
and queue:failed prints each id as its shortest distinct prefix, whole on a narrow terminal."""

from __future__ import annotations

import json
import time
from pathlib import Path

from cli_harness import Cli
from helpers import envelope

A = "01a23754-8b3c-7aaa-8000-000000000001"
B = "01a23754-8b3c-7aaa-9000-000000000002"
C = "01a23754-9fff-7bbb-8000-000000000003"


def import_failed(cli: Cli, ids: list[str]) -> None:
    lines = []
    for job_id in ids:
        env = envelope("default", id=job_id, name="Ledger", payload={"key": job_id[-1]})
        lines.append(
            json.dumps(
                {
                    "format": "gello.failed.v1",
                    "id": job_id,
                    "queue": "default",
                    "name": "Ledger",
                    "body": env.encode().decode(),
                    "exception": "RuntimeError",
                    "message": "down",
                    "traceback": "",
                    "failed_at": time.time(),
                    "attempts": 1,
                }
            )
        )
    path = Path(cli.cwd / "failed.jsonl")
    path.write_text("\n".join(lines) + "\n")
    cli.run("queue:failed:import", str(path))


def test_failed_ids_print_whole_and_distinct_when_narrow(cli: Cli) -> None:
    import_failed(cli, [A, B, C])
    cli.env["COLUMNS"] = "80"
    out = cli.run("queue:failed").stdout
    for short in (A[:20], B[:20], C[:10]):
        assert f"│ {short} " in out, out
    assert "…" not in out.split("│")[1]


def test_a_unique_prefix_is_taken_and_an_ambiguous_one_names_the_candidates(cli: Cli) -> None:
    import_failed(cli, [A, B, C])
    assert cli.run("queue:retry", C[:10]).stdout.strip() == "Retried 1 job(s)."
    why = cli.run("queue:why", B[:20])
    assert why.stdout.startswith(f"{B}: in the failed store")
    ambiguous = cli.run("queue:forget", A[:8], check=False)
    assert ambiguous.returncode == 1
    assert ambiguous.stderr.strip() == (
        f"error: id prefix {A[:8]} matches several failed jobs: {A}, {B}; give more of it"
    )
    assert cli.run("queue:forget", A[:20]).stdout.strip() == f"Forgot failed job {A}."
    # The pending job C became is found by its prefix too.
    assert cli.run("queue:why", C[:12]).stdout.startswith(f"{C}: pending on 'default'")
    short = cli.run("queue:retry", A[:7], check=False)  # under 8 characters: an id as given
    assert short.returncode == 1
    assert "not found" in short.stdout
