"""Colour themes for the ``gello queue:monitor`` dashboard, one TOML file each.

Each file holds the fields of ``textual.theme.Theme``; ``load()`` reads them all. Textual
is imported only when themes are loaded, so the CLI's help stays light.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.theme import Theme

PREFIX = "gello-"


def names() -> list[str]:
    """Short names of the shipped themes (``dark``, ``light``, ``ansi``…)."""
    return sorted(
        f.name.removesuffix(".toml")
        for f in resources.files(__name__).iterdir()
        if f.name.endswith(".toml")
    )


def load() -> list[Theme]:
    """Every shipped theme, named ``gello-<file name>``."""
    from textual.theme import Theme

    out = []
    for name in names():
        data = tomllib.loads(resources.files(__name__).joinpath(f"{name}.toml").read_text("utf-8"))
        out.append(Theme(name=PREFIX + name, **data))
    return out
