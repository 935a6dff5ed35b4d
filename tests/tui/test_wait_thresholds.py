"""QUEUE_WAIT_WARN: a queue's wait warns from its own threshold (one number or per queue),
and five times that is an alarm."""

from __future__ import annotations

import asyncio

import pytest
from seed import T0, seed
from tui_support import loaded

from gello_cli.tui.app import MonitorApp
from gello_cli.tui.backend import Backend
from gello_cli.tui.table import Cell, KeyedTable
from gello_cli.tui.widgets import palette
from gello_queue import ConfigurationError, Queue, Settings
from gello_queue.drivers.memory import MemoryDriver, MemoryStore
from gello_queue.inspection import WaitThresholds


@pytest.mark.parametrize(
    ("setting", "style"),
    [("600", ""), ("60", "warning"), ("600,emails=10", "error")],
)
async def test_the_emails_wait_is_coloured_by_its_threshold(setting: str, style: str) -> None:
    store = MemoryStore(clock=lambda: T0)
    await seed(MemoryDriver(store), T0)  # the oldest pending email has waited 90 s
    backend = Backend(Queue("memory://waits", factory=lambda: MemoryDriver(store)))
    waits = Settings(QUEUE_WAIT_WARN=setting).wait_thresholds()  # type: ignore[call-arg]
    app = MonitorApp(backend, url="memory://waits", clock=lambda: T0, live=False, waits=waits)
    try:
        async with app.run_test(size=(160, 40)) as pilot:
            await loaded(pilot)
            await pilot.press("2")
            await pilot.pause()
            table = app.screen.query_one(KeyedTable)
            wait = table.get_row("emails")[5]
            assert isinstance(wait, Cell)
            assert wait.text == "1m 30s"
            assert wait.style == (palette(app)[style] if style else "")
    finally:
        await asyncio.to_thread(backend.close)


def test_thresholds_parse_per_queue_and_refuse_nonsense() -> None:
    waits = WaitThresholds.parse("120, emails=10 ,reports=900")
    assert (waits.warn_at("emails"), waits.warn_at("reports"), waits.warn_at("sms")) == (
        10,
        900,
        120,
    )
    assert waits.level("emails", 9) == "ok"
    assert waits.level("emails", 10) == "warn"
    assert waits.level("emails", 50) == "alarm"
    for bad in ("soon", "emails=", "emails=-5", "0", "nan"):
        with pytest.raises(ConfigurationError, match="QUEUE_WAIT_WARN part"):
            WaitThresholds.parse(bad)


def test_a_bad_setting_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from gello_queue import load_settings

    monkeypatch.setenv("QUEUE_WAIT_WARN", "emails=soon")
    with pytest.raises(ConfigurationError, match="QUEUE_WAIT_WARN part 'emails=soon'"):
        load_settings()
