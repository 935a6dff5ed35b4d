"""``manage.py gello <command> [options]``: the gello command line, run with the
project's settings and jobs (``manage.py gello queue:work --queue emails``)."""

from __future__ import annotations

import os
import sys
from typing import Any

from django.core.management.base import BaseCommand

from gello_queue.contrib.config import settings_from
from gello_queue.contrib.django.apps import django_settings


class Command(BaseCommand):
    help = "Run a gello command with this project's settings and jobs: manage.py gello --help"

    def run_from_argv(self, argv: list[str]) -> None:
        # Every argument after ``gello`` is the command line's own (Django's parser would
        # take --help, --settings... for itself).
        os.execve(sys.executable, [sys.executable, "-m", "gello_cli", *argv[2:]], child_env())

    def handle(self, *args: Any, **options: Any) -> None:
        """Not reached from ``manage.py`` (see ``run_from_argv``)."""
        raise NotImplementedError("run it as manage.py gello <command>")


def child_env() -> dict[str, str]:
    """The environment the command line runs in: the gello settings from Django's
    settings over this one, and the app module that sets Django up."""
    env = dict(os.environ)
    for name, value in settings_from(django_settings()).items():
        if value is not None:
            env[name] = _text(value)
    env.setdefault("GELLO_APP", "gello_queue.contrib.django.worker")
    return env


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)
