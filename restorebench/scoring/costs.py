"""What each job of a run cost: wall time and peak memory from Snakemake's benchmark files.

Every rule writes ``benchmarks/<job>.tsv`` (``contract.RunPaths.benchmark``): one row per
repeat with the seconds ``s`` and the peak resident memory ``max_rss`` in MB, ``NA`` where
the job ended before Snakemake's first memory sample. The report's cost table reads them
here, so a cost can be checked against the file it came from.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Cost:
    """One job: its benchmark file's stem (rule and wildcards), mean seconds, peak RSS (MB)."""

    job: str
    seconds: float
    max_rss_mb: float


COST_FIELDS = ("job", "seconds", "max_rss_mb")


def _number(text: str | None) -> float:
    """A benchmark cell as a float; ``NA`` or an empty cell (no sample taken) as NaN."""
    try:
        return float(text) if text not in (None, "", "NA", "-") else math.nan
    except ValueError:
        return math.nan


def read_benchmark(path: Path) -> Cost:
    """One benchmark file: the mean seconds of its repeats and the largest peak memory."""
    with Path(path).open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    seconds = [_number(row.get("s")) for row in rows]
    memory = [m for m in (_number(row.get("max_rss")) for row in rows) if not math.isnan(m)]
    timed = [s for s in seconds if not math.isnan(s)]
    return Cost(
        job=Path(path).stem,
        seconds=sum(timed) / len(timed) if timed else math.nan,
        max_rss_mb=max(memory) if memory else math.nan,
    )


def read_costs(folder: Path, exclude: tuple[str, ...] = ()) -> list[Cost]:
    """Every benchmark file of a run's ``benchmarks/`` folder but the jobs ``exclude`` names,
    by job name; none without the folder.

    The folder is read, not a list of jobs: what ran is what the files say, including the
    jobs of targets other than the default. The job writing the table excludes itself: its
    file, if any, is a previous run's.
    """
    paths = sorted(Path(folder).glob("*.tsv"))
    return [read_benchmark(path) for path in paths if path.stem not in exclude]


def write_costs(path: Path, costs: list[Cost]) -> None:
    """costs.csv; floats with repr so they round-trip."""
    with Path(path).open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COST_FIELDS)
        for cost in costs:
            writer.writerow([cost.job, repr(cost.seconds), repr(cost.max_rss_mb)])
