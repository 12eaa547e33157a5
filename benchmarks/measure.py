"""Figures: a measured value beside its raw baseline and target, and how they are printed and saved."""

from __future__ import annotations

import os
import platform
import resource
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from rich.console import Console
from rich.table import Table


@dataclass
class Figure:
    """One measured figure; passes when under `target` and at most `max_over_baseline` above its baseline."""

    key: str
    label: str
    value: float
    unit: str = "s"
    baseline: float | None = None
    baseline_label: str = ""
    target: float | None = None
    max_over_baseline: float | None = None
    max_ratio: float | None = None  # at most this many times the baseline
    min_ratio: float | None = None  # at least this share of the baseline (throughput)
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """How many times the raw baseline the figure is (the overhead of the design)."""
        if self.baseline is None or self.baseline <= 0:
            return None
        return self.value / self.baseline

    @property
    def passed(self) -> bool | None:
        """None when there is no target (the figure is reported, not judged)."""
        limits = (self.target, self.max_over_baseline, self.max_ratio, self.min_ratio)
        if all(limit is None for limit in limits):
            return None
        ok = self.target is None or self.value < self.target
        if self.max_over_baseline is not None and self.baseline is not None:
            ok = ok and self.value - self.baseline <= self.max_over_baseline
        if self.max_ratio is not None:
            ok = ok and self.ratio is not None and self.ratio <= self.max_ratio
        if self.min_ratio is not None:
            ok = ok and self.ratio is not None and self.ratio >= self.min_ratio
        return ok

    def as_dict(self) -> dict[str, Any]:
        """The figure with its ratio and verdict, for var/bench.json."""
        return {**asdict(self), "ratio": self.ratio, "passed": self.passed}


class Stopwatch:
    """Elapsed wall time of a `with` block, in seconds."""

    seconds: float = 0.0


@contextmanager
def timed() -> Iterator[Stopwatch]:
    """Time a block with the monotonic performance counter."""
    watch = Stopwatch()
    start = time.perf_counter()
    try:
        yield watch
    finally:
        watch.seconds = time.perf_counter() - start


def percentile(values: list[float], pct: float) -> float:
    """The `pct` percentile (0-100) by linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1]


def peak_rss_mb() -> dict[str, float]:
    """Peak resident memory of this process and of its largest waited-for child, in MB (Linux: KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"self": round(own, 1), "children": round(children, 1), "total": round(own + children, 1)}


def machine() -> dict[str, Any]:
    """Where the figures were measured."""
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "ms":
        return f"{value:,.1f} {unit}"
    if unit in ("MB", "req/s", "queries"):
        return f"{value:,.0f} {unit}"
    return f"{value:,.2f} {unit}"


def render(figures: dict[str, list[Figure]], console: Console | None = None, *, items: int = 10_000) -> None:
    """Print one Rich table per backend: figure, target, baseline, ratio, pass/fail."""
    console = console or Console()
    for backend, rows in figures.items():
        table = Table(title=f"Follow-up at {items:,} items: {backend}", show_lines=False)
        for column in ("figure", "value", "target", "raw baseline", "ratio", "result"):
            table.add_column(column, justify="left" if column in ("figure", "raw baseline") else "right")
        for f in rows:
            target = []
            if f.target is not None:
                target.append(f"< {_fmt(f.target, f.unit)}")
            if f.max_over_baseline is not None:
                target.append(f"≤ raw + {_fmt(f.max_over_baseline, f.unit)}")
            if f.max_ratio is not None:
                target.append(f"≤ {f.max_ratio:g}× raw")
            if f.min_ratio is not None:
                target.append(f"≥ {f.min_ratio:.0%} of raw")
            baseline = f"{_fmt(f.baseline, f.unit)} ({f.baseline_label})" if f.baseline is not None else "-"
            ratio = f"{f.ratio:.2f}×" if f.ratio is not None else "-"
            verdict = {True: "[green]pass[/]", False: "[red]FAIL[/]", None: "[dim]reported[/]"}[f.passed]
            table.add_row(
                f.label, _fmt(f.value, f.unit), " and ".join(target) or "-", baseline, ratio, verdict
            )
        console.print(table)
