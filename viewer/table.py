"""The table of test images and every model's scores, sorted and filtered in numpy.

Sorting and filtering act on an index array rather than through a
QSortFilterProxyModel: with thousands of rows and a dozen columns that keeps a
re-sort to milliseconds, and the visible order is one array that navigation,
export and tests can all read.
"""

from __future__ import annotations

import csv
import fnmatch
from pathlib import Path

import numpy as np
from PyQt6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PyQt6.QtGui import QColor

from restorebench import contract
from viewer.conditions import evaluate
from viewer.runfiles import Run, label

IMPOSSIBLE_COLOUR = "#f4b6b6"  # a cell whose value its metric cannot take


class ScoreTable(QAbstractTableModel):
    """Rows: test images in the visible order. Columns: #, name, then model x spec metric."""

    def __init__(self, run: Run | None = None):
        super().__init__()
        self.sort_column, self.sort_order = 0, Qt.SortOrder.AscendingOrder
        self.name_filter, self.condition = "", ""
        self.set_run(run)

    def set_run(self, run: Run | None) -> None:
        """Show another run (or none), keeping the sort and the filters where they still apply."""
        self.beginResetModel()
        self.names = list(run.names) if run else []
        self.scores = {m: run.models[m].scores for m in run.score_models()} if run else {}
        self.specs = {spec.name: spec for spec in contract.METRICS}
        self.columns = [(m, metric) for m in self.scores for metric in self.specs]
        self._keys = [np.arange(len(self.names)), np.array(self.names, dtype=str)]
        self._keys += [self.scores[m][metric] for m, metric in self.columns]
        if self.sort_column >= len(self._keys):
            self.sort_column = 0
        try:
            mask = self._mask(self.name_filter, self.condition)
        except ValueError:
            self.condition = ""
            mask = self._mask(self.name_filter, "")
        self.order = self._sorted(np.flatnonzero(mask))
        self.endResetModel()

    # -- order -----------------------------------------------------------------------------
    def _mask(self, name_filter: str, condition: str) -> np.ndarray:
        mask = evaluate(condition, self.scores, len(self.names))
        pattern = name_filter.strip().lower()
        if pattern:
            if any(c in pattern for c in "*?["):
                hits = [fnmatch.fnmatchcase(n.lower(), pattern) for n in self.names]
            else:
                hits = [pattern in n.lower() for n in self.names]
            mask &= np.array(hits, dtype=bool)
        return mask

    def _sorted(self, rows: np.ndarray) -> np.ndarray:
        key = self._keys[self.sort_column][rows]
        # Stable sort; NaN sorts last either way so "worst first" never starts with blanks.
        if key.dtype.kind == "f":
            nan = np.isnan(key)
            ranked = rows[~nan][np.argsort(key[~nan], kind="stable")]
            if self.sort_order == Qt.SortOrder.DescendingOrder:
                ranked = ranked[::-1]
            return np.concatenate([ranked, rows[nan]])
        ranked = rows[np.argsort(key, kind="stable")]
        return ranked[::-1] if self.sort_order == Qt.SortOrder.DescendingOrder else ranked

    def set_filter(self, name_filter: str, condition: str) -> None:
        """Keep rows whose name matches (substring, or glob with * ? [) and that meet the condition.

        Raises ValueError for a malformed condition and leaves the table unchanged.
        """
        mask = self._mask(name_filter, condition)
        self.beginResetModel()
        self.name_filter, self.condition = name_filter, condition
        self.order = self._sorted(np.flatnonzero(mask))
        self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self._keys):
            return
        self.layoutAboutToBeChanged.emit()
        self.sort_column, self.sort_order = column, order
        self.order = self._sorted(np.sort(self.order))
        self.layoutChanged.emit()

    def row_of(self, index: int) -> int | None:
        """Visible row of a dataset index, or None when it is filtered out."""
        hits = np.flatnonzero(self.order == index)
        return int(hits[0]) if len(hits) else None

    def headers(self) -> list[str]:
        return ["#", "name"] + [f"{label(m)} {self.specs[k].label}" for m, k in self.columns]

    # -- Qt model --------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self.order)

    def columnCount(self, parent: QModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self._keys)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        column, image = index.column(), int(self.order[index.row()])
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return str(image)
            if column == 1:
                return self.names[image]
            model, metric = self.columns[column - 2]
            return self.specs[metric].show(self.scores[model][metric][image])
        if role == Qt.ItemDataRole.TextAlignmentRole and column != 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if column >= 2 and role in (Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ToolTipRole):
            model, metric = self.columns[column - 2]
            spec, value = self.specs[metric], self.scores[model][metric][image]
            if not spec.possible(value):
                if role == Qt.ItemDataRole.BackgroundRole:
                    return QColor(IMPOSSIBLE_COLOUR)
                return f"impossible {spec.label}: {value} (possible: {spec.low} to {spec.high})"
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.headers()[section]
        return None

    # -- export ----------------------------------------------------------------------------
    def write_csv(self, path: Path) -> int:
        """The visible rows in the visible order, full precision; returns the row count."""
        with open(path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["index", "name"] + [f"{m}_{metric}" for m, metric in self.columns])
            for image in self.order:
                values = [repr(float(self.scores[m][metric][image])) for m, metric in self.columns]
                writer.writerow([int(image), self.names[image], *values])
        return len(self.order)
