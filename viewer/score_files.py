"""A per-image score file (``metrics/<model>.csv``, ``metrics/masks/<model>.csv``): a name
column and one column per score, checked against the scores' possible ranges."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from restorebench import contract
from viewer.scores import possible_range, valid


class ScoreFileError(Exception):
    """The file cannot be used: the message names it and says why."""


def read_score_file(
    path: Path, rel: Path, metrics: tuple[str, ...]
) -> tuple[list[str], dict[str, np.ndarray], list[str]]:
    """The name column, the per-image columns of ``metrics`` that the CSV at ``path`` has
    (named ``rel`` in messages), and those of ``metrics`` it lacks, in ``metrics``' order.

    A file scored before the spec gained a metric (an older run) lacks its column: what
    it has is read. Raises :class:`ScoreFileError` for a file without a name column or
    without any of ``metrics``: nothing in it can be shown.
    """
    try:
        with open(path, newline="") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError) as error:
        raise ScoreFileError(f"{rel}: cannot be read ({error})") from error
    header = rows[0] if rows else []
    present = [m for m in metrics if m in header]
    lacking = [m for m in metrics if m not in header]
    if "name" not in header or not present:
        missing = [c for c in ("name", *metrics) if c not in header]
        raise ScoreFileError(
            f"{rel}: header lacks {', '.join(missing)} (expected name,{','.join(metrics)})"
        )
    body = rows[1:]
    columns = {c: header.index(c) for c in ("name", *present)}
    try:
        names = [row[columns["name"]] for row in body]
        values = {m: np.array([float(row[columns[m]]) for row in body]) for m in present}
    except (IndexError, ValueError) as error:
        raise ScoreFileError(f"{rel}: a row is short or not numeric ({error})") from error
    return names, values, lacking


def impossible_scores(rel: Path, values: dict[str, np.ndarray]) -> list[str]:
    """One problem per column of ``values`` holding scores its metric cannot take: they are
    shown, but flagged (a broken scorer or a hand-edited file)."""
    problems = []
    for metric, column in values.items():
        impossible = column[~valid(metric, column)]
        if len(impossible):
            spec = contract.metric(metric)
            problems.append(
                f"{rel}: {len(impossible)} impossible {spec.label} value(s), e.g. "
                f"{impossible[0]} ({possible_range(metric)}); marked red in the table"
            )
    return problems
