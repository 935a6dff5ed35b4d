"""Importing the application module, and saying in a few lines why it failed.

An error in the user's module (a ``NameError``, a ``SyntaxError``, a missing package) is
shown with the user's own frames only: the machinery between ``gello`` and their code
(typer, click, importlib, gello itself) says nothing they can act on. ``gello
--traceback`` shows the full traceback instead.
"""

from __future__ import annotations

import importlib
import sys
import sysconfig
import traceback
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from gello_queue import ConfigurationError, GelloError

if TYPE_CHECKING:
    from gello_queue.inspection import AppLocation

_NOT_THEIRS = tuple(
    str(Path(p).resolve())
    for p in {
        *(sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")),
        str(Path(__file__).resolve().parents[1] / "gello_cli"),
        str(Path(__file__).resolve().parents[1] / "gello_queue"),
    }
)
"""Directories whose frames are machinery: the standard library, installed packages,
and gello's own packages (which an editable install keeps outside site-packages)."""

show_traceback = False
"""Set by ``gello --traceback``: let the app module's error propagate whole."""


def import_located(found: AppLocation) -> None:
    """Import ``found.module`` from ``found.root``.

    Raises:
        ConfigurationError: the module cannot be imported; the message names the cause
            and the user's frames that led to it.
    """
    assert found.module is not None
    root = str(found.root)
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        importlib.import_module(found.module)
    except GelloError:
        raise  # gello refusing a declaration is already one line that says what to fix
    except Exception as exc:
        if show_traceback:
            raise
        raise ConfigurationError(_explain(found, exc)) from None


def _explain(found: AppLocation, exc: BaseException) -> str:
    module = found.module or ""
    named_by = f"named by {found.source}"
    frames = _their_frames(exc.__traceback__)
    itself = isinstance(exc, ModuleNotFoundError) and exc.name in _parents(module)
    if itself and not frames:
        return (
            f"cannot import app module {module!r} ({named_by}): no such module from"
            f" {found.root}; check the name and run from the project directory"
        )
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        head = f"app module {module!r} imports {exc.name!r}, which is not installed"
        if frames:
            where = frames[-1]
            head += f" ({Path(where.filename).name}, line {where.lineno}: {where.line})"
    else:
        head = f"cannot import app module {module!r} ({named_by})"
    lines = [head]
    lines += [line.rstrip("\n") for line in traceback.format_list(frames)]
    lines += [line.rstrip("\n") for line in traceback.format_exception_only(exc)]
    lines.append("(gello --traceback COMMAND ... shows the full traceback)")
    return "\n".join(lines)


def _parents(module: str) -> set[str]:
    """``a.b.c`` and the packages it is in: ``a.b``, ``a``."""
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)}


def _their_frames(tb: TracebackType | None) -> list[traceback.FrameSummary]:
    """The traceback's frames in the user's own files."""
    return [
        frame
        for frame in traceback.extract_tb(tb)
        if not frame.filename.startswith("<")
        and not str(Path(frame.filename).resolve()).startswith(_NOT_THEIRS)
    ]
