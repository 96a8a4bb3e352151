"""A run's means: summary.csv, its damaged-share buckets (summary_buckets.csv), and the
means computed from the per-image scores when summary.csv is missing or unusable.

Each reader returns what it read and, for an unusable file, the problem saying why
(for :attr:`viewer.runfiles.Run.problems`); none raises.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from restorebench.contract import SummaryStat
from restorebench.scoring.tables import read_bucket_bounds, read_summary_stats
from viewer.records import Record

# The interval of means computed here (no summary.csv to read): the normal approximation's.
NORMAL_CONFIDENCE, NORMAL_Z = 0.95, 1.96
COMPUTED_INTERVAL = f"{NORMAL_CONFIDENCE:.0%} CI (normal approximation)"


def interval_label(record: Record | None) -> str:
    """The name of summary.csv's interval, its level read from the summary's record
    (``score.confidence``); a run summarized before records were written says so."""
    settings = ((record.entry if record else None) or {}).get("settings") or {}
    confidence = settings.get("confidence")
    if not isinstance(confidence, (int, float)):
        return "bootstrap CI (level not recorded)"
    return f"{confidence:.0%} bootstrap CI"


@dataclass(frozen=True)
class Bucket:
    """One damaged-share bucket of summary_buckets.csv: the images with low <= share < high."""

    label: str
    low: float
    high: float


def read_summary(path: Path) -> tuple[list[SummaryStat] | None, str | None]:
    """summary.csv's rows when it is usable; None means: use the metric files instead."""
    if not path.is_file():
        return None, None
    try:
        return read_summary_stats(path), None
    except (OSError, UnicodeDecodeError, csv.Error, ValueError) as error:
        reason = str(error).replace(f"{path}: ", "").replace(str(path), path.name)
        return None, f"summary.csv: unusable ({reason}); showing means of metrics/*.csv"


def read_buckets(path: Path) -> tuple[list[Bucket], str | None]:
    """The damaged-share buckets of summary_buckets.csv in its order; none without the file
    (a run from before buckets) or with an unusable one (then the problem says why)."""
    if not path.is_file():
        return [], None
    try:
        return [Bucket(*bounds) for bounds in read_bucket_bounds(path)], None
    except (OSError, UnicodeDecodeError, csv.Error, ValueError) as error:
        reason = str(error).replace(f"{path}: ", "").replace(str(path), path.name)
        return [], f"{path.name}: unusable ({reason}); no filter by damaged share"


def computed_summary(scores: dict[str, dict[str, np.ndarray]]) -> list[SummaryStat]:
    """Means of each model's per-image ``scores`` (metrics/*.csv), by the summary's rules: a
    missing score (NaN) is left out, an infinite one (identical pixels) makes the mean and
    the spread infinite."""
    rows = []
    for name, columns in scores.items():
        for metric, values in columns.items():
            present = values[~np.isnan(values)]
            n = len(present)
            if not n:
                continue  # a score no image has (a region no image has), as the summary does
            mean = float(present.mean())
            infinite = not np.isfinite(present).all()
            std = math.inf if infinite else float(present.std(ddof=1)) if n > 1 else math.nan
            half = NORMAL_Z * std / math.sqrt(n) if n > 1 else math.nan
            median = float(np.median(present))
            rows.append(SummaryStat(name, metric, mean, std, median, mean - half, mean + half, n))
    return rows
