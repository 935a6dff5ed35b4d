"""A report job that says how far it got and keeps what it built.

A worker runs it: ``gello queue:work --app report --queue reports``. ``poll.py`` dispatches
one and follows it with a progress bar until its result is there.
"""

from __future__ import annotations

import asyncio

from pydantic import BaseModel

from gello_queue import Job


class ReportRequest(BaseModel):
    month: str
    sections: int = 8


class Report(BaseModel):
    month: str
    sections: list[str]
    total: int


class BuildReport(Job[ReportRequest]):
    queue = "reports"
    keep_result = 3600  # seconds: long enough for whoever asked to come and get it

    async def handle(self, payload: ReportRequest) -> Report:
        built: list[str] = []
        for n in range(1, payload.sections + 1):
            await asyncio.sleep(0.3)  # the slow part: queries, charts, a PDF page
            built.append(f"{payload.month} section {n}")
            # At most one write per 250 ms reaches the backend, whatever the loop does.
            await self.progress(n / payload.sections, f"section {n} of {payload.sections}")
        return Report(month=payload.month, sections=built, total=len(built) * 100)
