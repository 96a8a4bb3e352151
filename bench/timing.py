"""Repeated timings: a warm-up first, then the median of several runs."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def summary(seconds: list[float]) -> dict:
    """Median and spread of timed runs (the median resists a busy neighbour's spikes)."""
    return {
        "median": statistics.median(seconds),
        "min": min(seconds),
        "max": max(seconds),
        "runs": [round(s, 4) for s in seconds],
    }


def repeat(
    run: Callable[[], object],
    *,
    runs: int,
    warmup: int = 1,
    before: Callable[[], object] | None = None,
) -> dict:
    """Time ``run`` ``runs`` times after ``warmup`` untimed calls; ``before`` resets state, untimed."""
    for _ in range(warmup):
        if before:
            before()
        run()
    seconds = []
    for _ in range(runs):
        if before:
            before()
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    return {**summary(seconds), "warmup": warmup}
