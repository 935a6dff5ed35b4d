"""SIGUSR2 pauses a worker and SIGCONT resumes it; settings come from a .env file too."""

from __future__ import annotations

import json
import signal

from cli_harness import Cli
from helpers import wait_for


def worker_states(cli: Cli) -> list[str]:
    return [
        str(w["state"]) for w in json.loads(cli.run("queue:status", "--json").stdout)["workers"]
    ]


def test_sigusr2_pauses_and_sigcont_resumes(cli: Cli) -> None:
    worker = cli.spawn("queue:work", "--sleep", "0.05")
    try:
        wait_for(lambda: worker_states(cli) == ["running"])
        worker.send_signal(signal.SIGUSR2)
        wait_for(lambda: worker_states(cli) == ["paused"])
        cli.run("queue:dispatch", "Ledger", "--payload", '{"key": "held"}')
        status = json.loads(cli.run("queue:status", "--json").stdout)
        assert status["queues"]["default"]["pending"] == 1  # a paused worker takes nothing
        assert cli.runs() == []
        worker.send_signal(signal.SIGCONT)
        wait_for(lambda: cli.runs() == ["held"])
        wait_for(lambda: worker_states(cli) == ["running"])
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0


def test_settings_are_read_from_a_dotenv_file(cli: Cli) -> None:
    cli.env.pop("DATABASE_URL")
    (cli.cwd / ".env").write_text(
        f"DATABASE_URL=sqlite:///{cli.cwd / 'from-dotenv.db'}\nQUEUE_DEFAULT=mail\n"
    )
    cli.run("queue:dispatch", "Ledger", "--payload", '{"key": "e"}')
    assert (cli.cwd / "from-dotenv.db").exists()
    assert "mail" in json.loads(cli.run("queue:status", "--json").stdout)["queues"]
    (cli.cwd / ".env").write_text("QUEUE_MAX_TRIES=lots\n")
    out = cli.run("queue:status", check=False)
    assert out.returncode == 1
    assert out.stderr.strip() == (
        "error: invalid setting: QUEUE_MAX_TRIES: Input should be a valid integer,"
        " unable to parse string as an integer"
    )
