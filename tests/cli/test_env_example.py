"""The shipped .env.example works as it is, and names every setting there is."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from cli_harness import Cli
from pydantic import AliasChoices

from gello_queue.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def test_a_copied_env_example_runs_queue_status(tmp_path: Path) -> None:
    shutil.copy(EXAMPLE, tmp_path / ".env")
    # Nothing from the test machine's own settings: only the copied file speaks.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QUEUE_", "DATABASE_"))}
    env.pop("GELLO_APP", None)
    out = Cli(env=env, ledger=tmp_path / "ledger", cwd=tmp_path).run("queue:status")
    assert "invalid setting" not in out.stderr
    assert (tmp_path / "gello.db").exists()  # the example's DATABASE_URL was used


def test_an_empty_variable_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUEUE_METRICS_PORT", "")
    monkeypatch.setenv("QUEUE_TIMEOUT", "")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.queue_metrics_port is None
    assert settings.queue_timeout == Settings.model_fields["queue_timeout"].default


def env_name(alias: object) -> str:
    """A setting's variable: the first of its names when older ones still work."""
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return str(alias)


def test_env_example_names_every_setting() -> None:
    named = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", EXAMPLE.read_text(), re.MULTILINE))
    settings = {env_name(f.validation_alias) for f in Settings.model_fields.values()}
    assert settings - named == set(), "settings missing from .env.example"
