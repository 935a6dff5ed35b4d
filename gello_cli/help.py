"""How ``gello --help`` and each command's help read: commands grouped by what they are
for, argument names in capitals as in any Unix usage line (``ID...``, ``[CONNECTION]``),
no Python types in the help (``<bool>``, ``<list[str]>``), and each description one
paragraph whatever the line breaks of its docstring."""

from __future__ import annotations

import re
from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup

PANELS: dict[str, tuple[str, ...]] = {
    "Work": ("queue:work", "queue:dispatch", "demo"),
    "Inspect": (
        "queue:status",
        "queue:stats",
        "queue:monitor",
        "queue:recent",
        "queue:jobs",
        "queue:tags",
        "queue:why",
        "queue:health",
        "queue:storage",
    ),
    "Failed jobs": (
        "queue:failed",
        "queue:retry",
        "queue:retry-all",
        "queue:forget",
        "queue:flush",
        "queue:prune-failed",
        "queue:failed:import",
    ),
    "Batches & schedules": (
        "queue:batches",
        "queue:batch",
        "queue:cancel-batch",
        "queue:retry-batch",
        "queue:prune-batches",
        "queue:schedule",
        "queue:schedule:list",
    ),
    "Maintenance": (
        "queue:pause",
        "queue:resume",
        "queue:clear",
        "queue:restart",
        "queue:check",
        "queue:migrate",
    ),
}
"""Every command's help panel, in the order ``gello --help`` shows them."""

_SINGLE_BREAK = re.compile(r"(?<!\n)\n(?!\n)\s*")


class _Argument(TyperArgument):
    """An argument whose help row shows its name only: ``ID...`` already says what it
    takes, where typer would add the Python type (``<list[str]>``)."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None


class _Plain:
    """What every gello command and the group share: plain help rows."""

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""  # a flag takes no value: no ``<bool>`` after it
            elif type(param) is TyperArgument:
                if param.metavar is None:  # ``ID...`` as usage lines spell it, not ``{ids}...``
                    param.metavar = (param.name or "").upper() + ("..." if param.nargs != 1 else "")
                param.__class__ = _Argument  # same object, without the type column
        return params


class GelloCommand(_Plain, TyperCommand):
    """A command with plain help: one-paragraph description, Unix usage line."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("help"):
            # Docstrings wrap at 100 columns; the terminal wraps the help again.
            kwargs["help"] = _SINGLE_BREAK.sub(" ", kwargs["help"].strip())
        super().__init__(*args, **kwargs)

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar or "[OPTIONS]"]
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                name = param.metavar or ""
                pieces.append(name if param.required else f"[{name}]")
        return pieces


class GelloGroup(_Plain, TyperGroup):
    """The ``gello`` group, with plain help rows for its own options."""


def arrange(app: typer.Typer) -> None:
    """Give each registered command its panel and plain help, panels in ``PANELS``' order.

    Raises:
        AssertionError: a command has no panel (every command must say what it is for).
    """
    order = {name: i for i, name in enumerate(n for names in PANELS.values() for n in names)}
    panel_of = {name: panel for panel, names in PANELS.items() for name in names}
    missing = [c.name for c in app.registered_commands if c.name not in panel_of]
    assert not missing, f"commands without a help panel: {missing}"
    app.registered_commands.sort(key=lambda c: order[c.name or ""])
    for info in app.registered_commands:
        info.cls = GelloCommand
        info.rich_help_panel = panel_of[info.name or ""]
