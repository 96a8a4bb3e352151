"""Readers of a run's score tables, one per file format, for the library, the bench and the
viewer alike; NumPy and the standard library only, so the viewer imports them without the
scorers' dependencies.

Columns are found by their header names, so a file written before the spec gained a
metric (an older run) still gives the columns it has. Each reader raises a ValueError that
names the file (and the line) and says what is wrong; callers add their remedy.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from restorebench import contract
from restorebench.contract import SummaryStat


def read_score_columns(
    path: Path, wanted: tuple[str, ...]
) -> tuple[list[str], dict[str, np.ndarray], list[str]]:
    """A per-image score file (``metrics/<model>.csv``, ``metrics/masks/<model>.csv``): its
    name column, the columns of ``wanted`` it has (float64, by name) and those it lacks.

    A file without a name column or without any of ``wanted`` is refused: nothing in it
    can be read. A file that is not text, or cut within a letter, raises as csv does
    (``csv.Error``, ``UnicodeDecodeError``).
    """
    path = Path(path)
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None) or []
        present = [name for name in wanted if name in header]
        if "name" not in header or not present:
            raise ValueError(lacks(path, wanted, header))
        where = [header.index(name) for name in ("name", *present)]
        names, rows = [], []
        for line, row in enumerate(reader, start=2):
            if len(row) < len(header):
                raise ValueError(
                    f"{path}, line {line}: expected {len(header)} columns, got {len(row)}"
                )
            try:
                rows.append([float(row[index]) for index in where[1:]])
            except ValueError as error:
                raise ValueError(f"{path}, line {line}: {error}") from None
            names.append(row[where[0]])
    values = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(present))
    columns = {name: values[:, index] for index, name in enumerate(present)}
    return names, columns, [name for name in wanted if name not in header]


def lacks(path: Path, wanted: tuple[str, ...], header: list[str]) -> str:
    """What a score file's header lacks of the name column and ``wanted``."""
    missing = [name for name in ("name", *wanted) if name not in header]
    return f"{path}: header lacks {', '.join(missing)} (expected header 'name,{','.join(wanted)}')"


def read_summary_stats(path: Path) -> list[SummaryStat]:
    """summary.csv (or summary_origin.csv) as :class:`SummaryStat` rows."""
    with Path(path).open(newline="") as handle:
        reader = csv.DictReader(handle)
        _require(path, reader.fieldnames, contract.SUMMARY_FIELDS)
        try:
            return [
                SummaryStat(
                    row["model"],
                    row["metric"],
                    *(float(row[field]) for field in contract.SUMMARY_FIELDS[2:-1]),
                    int(float(row["n"])),
                )
                for row in reader
            ]
        except (TypeError, ValueError) as error:
            raise ValueError(f"{path}, line {reader.line_num}: {error}") from None


def read_bucket_bounds(path: Path) -> list[tuple[str, float, float]]:
    """The damaged-share buckets of summary_buckets.csv, (label, low, high), in its order."""
    with Path(path).open(newline="") as handle:
        reader = csv.DictReader(handle)
        _require(path, reader.fieldnames, contract.BUCKET_FIELDS)
        found = {(row["bucket"], row["low"], row["high"]): None for row in reader}
    try:
        return [(label, float(low), float(high)) for label, low, high in found]
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path}: a bucket's bounds are not numbers ({error})") from None


def _require(path: Path, header: list[str] | None, fields: tuple[str, ...]) -> None:
    lacking = [field for field in fields if field not in (header or [])]
    if lacking:
        raise ValueError(f"{path}: header lacks {', '.join(lacking)}")
