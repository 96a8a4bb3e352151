"""A per-image score file (``metrics/<model>.csv``, ``metrics/masks/<model>.csv``): a name
column and one column per score, checked against the scores' possible ranges."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from restorebench import contract
from restorebench.scoring.tables import read_score_columns
from viewer.scores import possible_range, valid


class ScoreFileError(Exception):
    """The file cannot be used: the message names it and says why."""


def read_score_file(
    path: Path, rel: Path, metrics: tuple[str, ...]
) -> tuple[list[str], dict[str, np.ndarray], list[str]]:
    """The name column, the per-image columns of ``metrics`` that the CSV at ``path`` has
    (named ``rel`` in messages), and those of ``metrics`` it lacks, in ``metrics``' order
    (``restorebench.scoring.tables``, the reader the workflow's scores are read with).

    A file scored before the spec gained a metric (an older run) lacks its column: what
    it has is read. Raises :class:`ScoreFileError` for a file that cannot be used.
    """
    try:
        return read_score_columns(path, metrics)
    except (OSError, UnicodeDecodeError, csv.Error, ValueError) as error:
        reason = str(error).replace(str(path), str(rel))
        raise ScoreFileError(reason if str(rel) in reason else f"{rel}: {reason}") from error


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
