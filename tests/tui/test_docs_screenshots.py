"""The dashboard pictures in the README and docs: one SVG per screen, taken with
Textual's ``save_screenshot`` over the seeded, fixed-clock store of the snapshot tests.

A picture that no longer matches its screen fails here. After an intended change, write
them again and look at them:

    GELLO_UPDATE_SCREENSHOTS=1 pytest tests/tui/test_docs_screenshots.py
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from test_snapshots import SCREENS, Make, showing

from gello_cli.tui.app import MonitorApp

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "docs" / "images"
SIZE = (120, 32)
SHOWN = ["overview", "queues", "jobs", "failed", "workers", "batches"]
"""The screens pictured, in the order the README shows them."""


def picture(name: str) -> str:
    return f"dashboard-{name}.svg"


@pytest.mark.parametrize("screen", SHOWN)
def test_the_picture_of_each_screen_is_current(fixed_app: Make, screen: str) -> None:
    app: MonitorApp = fixed_app(batches=True)
    keys = SCREENS.get(screen, ["6"])
    ready = (lambda a: bool(a.listings.get("batches"))) if screen == "batches" else None

    async def take() -> str:
        async with app.run_test(size=SIZE) as pilot:
            await showing(keys, ready)(pilot)
            return app.export_screenshot(title=f"gello queue:monitor: {screen}")

    taken = asyncio.run(take())
    path = IMAGES / picture(screen)
    if os.environ.get("GELLO_UPDATE_SCREENSHOTS"):
        IMAGES.mkdir(exist_ok=True)
        path.write_text(taken)
    assert path.exists(), f"{path} is missing: write it with GELLO_UPDATE_SCREENSHOTS=1"
    assert path.read_text() == taken, (
        f"{path.name} no longer shows the {screen} screen: run"
        " GELLO_UPDATE_SCREENSHOTS=1 pytest tests/tui/test_docs_screenshots.py and look at it"
    )


@pytest.mark.parametrize("page", ["README.md", "docs/guide/dashboard.md"])
def test_the_readme_and_the_dashboard_page_show_every_picture(page: str) -> None:
    text = (ROOT / page).read_text()
    prefix = "docs/images/" if page == "README.md" else "../images/"
    missing = [s for s in SHOWN if f"]({prefix}{picture(s)})" not in text]
    assert not missing, f"{page} shows no picture of: {', '.join(missing)}"
