"""Dispatch a report and follow it with a progress bar: ``python poll.py``.

It polls ``Queue.status`` (state, progress, worker) as a web page would, then waits for the
result, typed by the job's return annotation.
"""

from __future__ import annotations

import asyncio

from report import BuildReport
from rich.progress import Progress

from gello_queue import default_queue


async def main() -> None:
    job_id = await BuildReport.dispatch(month="2026-11")
    print(f"dispatched report {job_id}")
    queue = default_queue()
    updates: set[float] = set()
    with Progress() as bar:
        task = bar.add_task("waiting for a worker", total=1.0)
        while True:
            status = await queue.status(job_id)
            if status.progress is not None:
                updates.add(status.progress.fraction)
                bar.update(
                    task, completed=status.progress.fraction, description=status.progress.message
                )
            if status.state in ("completed", "failed"):
                break
            await asyncio.sleep(0.1)
    report = await BuildReport.result(job_id, timeout=30)  # a Report
    print(f"progress updates seen: {len(updates)}")
    print(f"report for {report.month}: {len(report.sections)} sections, total {report.total}")


if __name__ == "__main__":
    asyncio.run(main())
