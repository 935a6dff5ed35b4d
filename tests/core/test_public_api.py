"""The public surface is declared, exact and importable: adding or removing a name is a
decision, made here as well as in ``gello_queue/__init__.py``."""

from __future__ import annotations

import ast
from pathlib import Path

import gello_cli
import gello_queue

PUBLIC = [
    "Batch",
    "BatchHandle",
    "BatchRecord",
    "Batches",
    "Chain",
    "ConfigurationError",
    "DispatchResult",
    "DriverUnavailableError",
    "DuplicateJobNameError",
    "Envelope",
    "EnvelopeError",
    "ExitReason",
    "Exponential",
    "FailJob",
    "FailedJob",
    "GelloError",
    "Job",
    "JobFailedError",
    "JobFailure",
    "JobNotFoundError",
    "JobRecord",
    "JobRegistry",
    "JobState",
    "JobStatus",
    "NotSupportedError",
    "PayloadTooLargeError",
    "PayloadTooNewError",
    "PayloadValidationError",
    "PendingDispatch",
    "Progress",
    "Queue",
    "QueueCounts",
    "ReleaseJob",
    "Schedule",
    "ScheduleRegistry",
    "Scheduler",
    "Settings",
    "UnknownJobError",
    "UpcastError",
    "Worker",
    "WorkerNotFoundError",
    "WorkerRecord",
    "WorkerState",
    "WorkerStatus",
    "default_queue",
    "default_registry",
    "load_settings",
    "schedule",
    "set_default_queue",
]


def test_all_is_exactly_the_public_names() -> None:
    assert sorted(gello_queue.__all__) == PUBLIC


def test_every_public_name_is_importable() -> None:
    for name in PUBLIC:
        assert getattr(gello_queue, name) is not None, name


def _gello_queue_imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [(node.lineno, n) for n in names if n.split(".")[0] == "gello_queue"]
    return found


def test_the_command_line_imports_only_the_root_and_the_inspection_facade() -> None:
    """Also the imports under ``TYPE_CHECKING``, which the import-linter contract skips."""
    allowed = {"gello_queue", "gello_queue.inspection"}
    cli = Path(gello_cli.__file__).parent
    wrong = [
        f"{path.relative_to(cli.parent)}:{line}: {module}"
        for path in sorted(cli.rglob("*.py"))
        for line, module in _gello_queue_imports(path)
        if module not in allowed
    ]
    assert wrong == []
