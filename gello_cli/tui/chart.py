"""The throughput chart: jobs and failures per minute over the last hour, on axes (jobs
per minute up, minutes ago across), drawn by plotext and as tall as the screen allows."""

from __future__ import annotations

import math
from collections.abc import Sequence

from textual_plotext import PlotextPlot


class ThroughputChart(PlotextPlot):
    """Processed and failed per minute, oldest minute on the left, now on the right."""

    DEFAULT_CSS = """
    ThroughputChart { height: 1fr; min-height: 5; }
    """

    def show(self, series: Sequence[tuple[int, int]]) -> None:
        plt = self.plt
        plt.clear_data()
        minutes = list(range(-len(series) + 1, 1))
        processed = [float(p) for p, _ in series]
        failed = [float(f) for _, f in series]
        if minutes:
            # No legend: it would cover the lines on a short chart; the title says which.
            plt.plot(minutes, processed, marker="braille")
            plt.plot(minutes, failed, marker="braille", color="red")
            top = math.ceil(max(1.0, *processed, *failed))
            plt.xlim(minutes[0], 0)
            plt.ylim(0, top)
            plt.yticks([0, top])  # two ticks: a short chart has room for no more
            ticks = [
                float(m) for m in range(minutes[0] - minutes[0] % 15, 1, 15) if m >= minutes[0]
            ]
            plt.xticks(ticks, [f"{-m:g}m ago" if m else "now" for m in ticks])
        self.refresh()
