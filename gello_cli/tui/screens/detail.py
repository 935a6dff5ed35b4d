"""One job, pushed over any screen: every field, the payload (secrets redacted), traceback."""

from __future__ import annotations

import time
from typing import ClassVar, cast

import orjson
from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from gello_cli.tui.backend import Action
from gello_cli.tui.format import clock_time, short_id
from gello_cli.tui.screens.base import WRITE_ACTIONS
from gello_cli.tui.screens.console import Console
from gello_queue import GelloError, JobState
from gello_queue.inspection import JobDetail, redact, redact_url


class DetailScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("r", "retry", "Retry"),
        Binding("x", "forget", "Forget"),
        Binding("n", "run_now", "Run now"),
        Binding("c", "cancel", "Cancel job"),
    ]
    DEFAULT_CSS = """
    DetailScreen #detail { padding: 0 1; }
    DetailScreen #detail-title { background: $panel; padding: 0 1; text-style: bold; }
    """

    def __init__(self, job_id: str) -> None:
        super().__init__()
        self.job_id = job_id
        self.detail: JobDetail | None = None

    @property
    def monitor(self) -> Console:
        return cast("Console", self.app)

    def compose(self) -> ComposeResult:
        yield Static(f"Job {self.job_id}", id="detail-title")
        with VerticalScroll():
            yield Static("Loading…", id="detail")
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    def load(self) -> None:
        self.run_worker(self._load(), exclusive=True, group="detail")

    async def _load(self) -> None:
        job_id = self.job_id
        try:
            self.detail = await self.monitor.backend.call(lambda i: i.job(job_id))
        except GelloError as exc:
            self.detail = None
            self.query_one("#detail", Static).update(redact_url(str(exc)))
        except Exception as exc:  # a lost connection: say so, keep the screen
            self.query_one("#detail", Static).update(f"cannot load: {redact_url(str(exc))}")
        else:
            self.query_one("#detail", Static).update(render(self.detail, self.monitor.now()))
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action not in WRITE_ACTIONS:
            return True
        d = self.detail
        if d is None:
            return False
        if self.monitor.read_only:
            return None
        allowed = {
            "retry": d.state is JobState.FAILED,
            "forget": d.state is JobState.FAILED,
            "run_now": d.state is JobState.SCHEDULED,
            "cancel": d.state in (JobState.PENDING, JobState.SCHEDULED),
        }
        return bool(allowed.get(action))

    def _act(self, verb: str, action: Action[int], *, leave: bool = False) -> None:
        then = self.dismiss if leave else self.load
        self.monitor.act(action, lambda _: f"{verb} job {short_id(self.job_id)}.", then=then)

    def action_retry(self) -> None:
        job_id = self.job_id
        self._act("Retried", lambda i: i.retry_jobs([job_id]))

    def action_forget(self) -> None:
        job_id = self.job_id
        self._act("Forgot", lambda i: i.forget_jobs([job_id]), leave=True)

    def action_run_now(self) -> None:
        job_id = self.job_id
        self._act("Promoted", lambda i: i.run_now(job_id))

    def action_cancel(self) -> None:
        job_id = self.job_id
        self._act("Cancelled", lambda i: i.cancel(job_id), leave=True)


def render(d: JobDetail, now: float | None = None) -> RenderableType:
    """The job's fields, payload and traceback as Rich renderables."""
    now = time.time() if now is None else now
    fields = Table.grid(padding=(0, 2))
    fields.add_column(style="bold")
    fields.add_column()

    def when(ts: float | None) -> str:
        if ts is None:
            return "-"
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))
        return f"{stamp} UTC ({clock_time(ts, now)})"

    rows: list[tuple[str, str | None]] = [
        ("id", d.id),
        ("job", d.name),
        ("queue", d.queue),
        ("state", d.state.value),
        ("attempts", f"{d.attempts}" + (f" of {d.max_attempts}" if d.max_attempts else "")),
        ("priority", None if d.priority is None else str(d.priority)),
        ("created", when(d.created_at)),
        ("available", when(d.available_at)),
        ("reserved by", d.reserved_by),
        ("lease expires", None if d.lease_expires_at is None else when(d.lease_expires_at)),
        ("failed", None if d.failed_at is None else when(d.failed_at)),
        ("exception", d.exception),
        ("message", None if d.message is None else redact_url(d.message)),
    ]
    for name, value in rows:
        if value is not None:
            fields.add_row(name, value)
    parts: list[RenderableType] = [fields, Text("\npayload", style="bold")]
    if d.envelope is None:
        parts.append(Text(redact_url(d.body[:4000]) + "\n(not a gello envelope)", style="dim"))
    else:
        pretty = orjson.dumps(redact(d.payload), option=orjson.OPT_INDENT_2).decode()
        parts.append(Syntax(pretty, "json", theme="ansi_dark", word_wrap=True))
    if d.traceback:
        parts += [Text("\ntraceback", style="bold"), Text(redact_url(d.traceback))]
    return Group(*parts)
