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
) -> tuple[list[str], dict[str, np.ndarray]]:
    """The name column and the per-image columns ``metrics`` of the CSV at ``path`` (named
    ``rel`` in messages). Raises :class:`ScoreFileError`."""
    try:
        with open(path, newline="") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError) as error:
        raise ScoreFileError(f"{rel}: cannot be read ({error})") from error
    header = rows[0] if rows else []
    lacking = [c for c in ("name", *metrics) if c not in header]
    if lacking:
        raise ScoreFileError(
            f"{rel}: header lacks {', '.join(lacking)} (expected name,{','.join(metrics)})"
        )
    body = rows[1:]
    columns = {c: header.index(c) for c in ("name", *metrics)}
    try:
        names = [row[columns["name"]] for row in body]
        values = {m: np.array([float(row[columns[m]]) for row in body]) for m in metrics}
    except (IndexError, ValueError) as error:
        raise ScoreFileError(f"{rel}: a row is short or not numeric ({error})") from error
    return names, values


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
