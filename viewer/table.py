"""The table of test images and every model's score for one chosen metric, sorted and filtered
in numpy.

One column per model, all showing the same metric (chosen above the table), so models
are compared side by side in a narrow pane; the conditions and the CSV export still see
every metric (the conditions the mask scores too). A bucket of the images' damaged share
narrows the rows further. Sorting and filtering act on an index array rather than through a
QSortFilterProxyModel: with thousands of rows that keeps a re-sort to milliseconds, and
the visible order is one array that navigation, export and tests can all read.
"""

from __future__ import annotations

import csv
import fnmatch
import html
from pathlib import Path

import numpy as np
from PyQt6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PyQt6.QtGui import QColor

from restorebench import contract
from viewer.conditions import evaluate, image_properties, image_property
from viewer.runfiles import Run
from viewer.scores import label, score_text, valid, why_impossible
from viewer.summaries import Bucket

IMPOSSIBLE_COLOUR = "#f4b6b6"  # a cell whose value its metric cannot take


def plain_tooltip(text: str) -> str:
    """A tooltip shown as the very characters of ``text``: Qt reads tooltips that look like
    HTML as HTML, so '<b>' in an image name would turn bold; escaped inside a tag it cannot."""
    return f"<span style='white-space:pre'>{html.escape(text, quote=False)}</span>"


def default_metric() -> str:
    """The spec's first higher-is-better metric (the first metric if none is)."""
    specs = contract.METRICS
    return next((m.name for m in specs if not m.lower_is_better), specs[0].name)


class ScoreTable(QAbstractTableModel):
    """Rows: test images in the visible order. Columns: #, name, then one per scored model,
    each showing :attr:`metric`."""

    def __init__(self, run: Run | None = None):
        super().__init__()
        self.sort_key, self.sort_order = "#", Qt.SortOrder.AscendingOrder
        self.name_filter, self.condition = "", ""
        self.bucket: Bucket | None = None
        self.condition_error: str | None = None
        self.metric = default_metric()
        self.set_run(run)

    def set_run(self, run: Run | None) -> None:
        """Show another run (or none), keeping the metric, the sort and the filters where they
        still apply (a condition naming a model that is gone is kept, reported, not applied)."""
        self.beginResetModel()
        self.names = list(run.names) if run else []
        self.scores = {m: run.models[m].scores for m in run.score_models()} if run else {}
        # What conditions may name: every metric, and a damage finder's mask scores.
        self.condition_scores = {
            m: {**scores, **(run.models[m].mask_scores or {})} for m, scores in self.scores.items()
        }
        self.mask_share = image_property(contract.MASK_SHARE.name, self.scores)
        if self.mask_share is None:
            self.bucket = None  # nothing to bucket by
        self.specs = {spec.name: spec for spec in contract.METRICS}
        if self.metric not in self.specs:
            self.metric = default_metric()
        self.models = list(self.scores)
        self._valid: dict[tuple[str, str], np.ndarray] = {}  # (model, metric): valid(...) mask
        self._index_keys = [np.arange(len(self.names)), np.array(self.names, dtype=str)]
        if self.sort_key not in ("#", "name", *self.models):
            self.sort_key = "#"
        self.order = self._sorted(np.flatnonzero(self._filter_mask()))
        self.endResetModel()

    # -- columns ---------------------------------------------------------------------------
    @property
    def columns(self) -> list[tuple[str, str]]:
        """(model, metric) of each score column, in column order."""
        return [(m, self.metric) for m in self.models]

    def column_of(self, model: str) -> int:
        return 2 + self.models.index(model)

    def _key_name(self, column: int) -> str:
        return ("#", "name", *self.models)[column]

    def _key(self, name: str) -> np.ndarray:
        if name == "#":
            return self._index_keys[0]
        if name == "name":
            return self._index_keys[1]
        return self.values(name, self.metric)

    def scored(self, model: str, metric: str) -> bool:
        """Whether ``model``'s file has ``metric`` (an older run's lacks the newer metrics)."""
        return metric in self.scores[model]

    def values(self, model: str, metric: str) -> np.ndarray:
        """``model``'s per-image ``metric``; all NaN where its file lacks the metric (shown
        '-' and sorted last, as a missing score is, but never marked impossible)."""
        found = self.scores[model].get(metric)
        return found if found is not None else np.full(len(self.names), np.nan)

    def set_metric(self, metric: str) -> None:
        """Show ``metric`` in every model column; a sort by a model column follows it."""
        if metric == self.metric or metric not in self.specs:
            return
        self.layoutAboutToBeChanged.emit()
        self.metric = metric
        if self.sort_key not in ("#", "name"):
            self.order = self._sorted(np.sort(self.order))
        self.layoutChanged.emit()
        if self.models:
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 2, 1 + len(self.models))

    # -- order -----------------------------------------------------------------------------
    def _name_mask(self, name_filter: str) -> np.ndarray:
        pattern = name_filter.strip().lower()
        if not pattern:
            return np.ones(len(self.names), dtype=bool)
        if any(c in pattern for c in "*?["):
            hits = [fnmatch.fnmatchcase(n.lower(), pattern) for n in self.names]
        else:
            hits = [pattern in n.lower() for n in self.names]
        return np.array(hits, dtype=bool).reshape(len(self.names))

    def _bucket_mask(self) -> np.ndarray:
        """The images whose damaged share lies in the chosen bucket (all without one)."""
        if self.bucket is None or self.mask_share is None:
            return np.ones(len(self.names), dtype=bool)
        share = self.mask_share
        return (share >= self.bucket.low) & (share < self.bucket.high)  # NaN: in none

    def bucket_count(self, bucket: Bucket) -> int:
        """How many test images lie in ``bucket``, whatever the other filters."""
        if self.mask_share is None:
            return 0
        share = self.mask_share
        return int(np.count_nonzero((share >= bucket.low) & (share < bucket.high)))

    def _filter_mask(self) -> np.ndarray:
        """The name filter, the bucket and the condition; a malformed condition is left out
        (every row it would judge is kept) and its reason kept in :attr:`condition_error`."""
        mask = self._name_mask(self.name_filter) & self._bucket_mask()
        try:
            mask &= evaluate(self.condition, self.condition_scores, len(self.names))
        except ValueError as error:
            self.condition_error = str(error)
        else:
            self.condition_error = None
        return mask

    def _sorted(self, rows: np.ndarray) -> np.ndarray:
        key = self._key(self.sort_key)[rows]
        # Stable sort; NaN sorts last either way so "worst first" never starts with blanks.
        if key.dtype.kind == "f":
            nan = np.isnan(key)
            ranked = rows[~nan][np.argsort(key[~nan], kind="stable")]
            if self.sort_order == Qt.SortOrder.DescendingOrder:
                ranked = ranked[::-1]
            return np.concatenate([ranked, rows[nan]])
        ranked = rows[np.argsort(key, kind="stable")]
        return ranked[::-1] if self.sort_order == Qt.SortOrder.DescendingOrder else ranked

    def set_filter(self, name_filter: str, condition: str) -> str | None:
        """Keep rows whose name matches (substring, or glob with * ? [) and that meet the condition.

        A malformed condition filters nothing: no earlier condition stays applied behind
        the user's back. Returns its reason (also in :attr:`condition_error`), or None.
        """
        self.beginResetModel()
        self.name_filter, self.condition = name_filter, condition
        self.order = self._sorted(np.flatnonzero(self._filter_mask()))
        self.endResetModel()
        return self.condition_error

    def set_bucket(self, bucket: Bucket | None) -> None:
        """Keep only the images whose damaged share lies in ``bucket`` (None: every image)."""
        self.beginResetModel()
        self.bucket = bucket if self.mask_share is not None else None
        self.order = self._sorted(np.flatnonzero(self._filter_mask()))
        self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < self.columnCount():
            return
        self.layoutAboutToBeChanged.emit()
        self.sort_key, self.sort_order = self._key_name(column), order
        self.order = self._sorted(np.sort(self.order))
        self.layoutChanged.emit()

    def row_of(self, index: int) -> int | None:
        """Visible row of a dataset index, or None when it is filtered out."""
        hits = np.flatnonzero(self.order == index)
        return int(hits[0]) if len(hits) else None

    def headers(self) -> list[str]:
        return ["#", "name"] + [label(m) for m in self.models]

    def header_tooltip(self, column: int) -> str:
        if column == 0:
            return "index in the dataset's test split"
        if column == 1:
            return "test image name"
        spec = self.specs[self.metric]
        if spec.name in image_properties():
            return f"{spec.label} of the image (the same in every model's file)"
        better = "lower" if spec.lower_is_better else "higher"
        return f"{label(self.models[column - 2])}: {spec.label} per image ({better} is better)"

    # -- Qt model --------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self.order)

    def columnCount(self, parent: QModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else 2 + len(self.models)

    def value(self, row: int, model: str) -> float:
        """The chosen metric's score of ``model`` on the image in visible row ``row``."""
        return float(self.values(model, self.metric)[self.order[row]])

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        column, image = index.column(), int(self.order[index.row()])
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return str(image)
            if column == 1:
                return self.names[image]
            model = self.models[column - 2]
            return score_text(self.metric, self.values(model, self.metric)[image])
        if role == Qt.ItemDataRole.TextAlignmentRole and column != 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and column == 1:
            return plain_tooltip(self.names[image])  # the full name of an elided cell
        if column >= 2 and role in (Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ToolTipRole):
            model = self.models[column - 2]
            if not self.scored(model, self.metric):
                return None if role == Qt.ItemDataRole.BackgroundRole else self._unscored_tip(model)
            if not self._valid_mask(model)[image]:
                value = float(self.scores[model][self.metric][image])
                if role == Qt.ItemDataRole.BackgroundRole:
                    return QColor(IMPOSSIBLE_COLOUR)
                return plain_tooltip(why_impossible(self.metric, value))
        return None

    def _unscored_tip(self, model: str) -> str:
        spec = self.specs[self.metric]
        return plain_tooltip(
            f"{label(model)}: no {spec.label} ({spec.name}): its scores are an older run's, "
            "scored before the spec had it"
        )

    def _valid_mask(self, model: str) -> np.ndarray:
        """Which of ``model``'s scores of the chosen metric are possible, computed once."""
        key = (model, self.metric)
        if key not in self._valid:
            self._valid[key] = valid(self.metric, self.scores[model][self.metric])
        return self._valid[key]

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ):
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < self.columnCount():
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.headers()[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tooltip(self.header_tooltip(section))
        return None

    # -- export ----------------------------------------------------------------------------
    def write_csv(self, path: Path) -> int:
        """The visible rows in the visible order, every model x metric at full precision
        (empty where a model's file lacks the metric: an older run's); returns the row count."""
        everything = [(m, metric) for m in self.models for metric in self.specs]
        with open(path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["index", "name"] + [f"{m}_{metric}" for m, metric in everything])
            for image in self.order:
                values = [
                    repr(float(self.scores[m][metric][image])) if metric in self.scores[m] else ""
                    for m, metric in everything
                ]
                writer.writerow([int(image), self.names[image], *values])
        return len(self.order)
