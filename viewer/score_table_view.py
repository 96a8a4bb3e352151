"""The score table's view: one row per image, its columns sized to what they show."""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from viewer.scores import score_text
from viewer.table import ScoreTable

CELL_PADDING = 14  # px around a table cell's text
SORT_ARROW = 16  # px the header's sort indicator takes
NAME_COLUMN_MAX = 130  # px: longer image names are elided in the middle (full name in the tooltip)
TABLE_ROW_HEIGHT = 20


class ScoreTableView(QTableView):
    """Sortable, one row selected at a time, never edited; narrow columns."""

    def __init__(self, table: ScoreTable):
        super().__init__()
        self.table = table
        self.setModel(table)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setWordWrap(False)
        self.setSortingEnabled(True)
        self.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().hide()
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setDefaultSectionSize(TABLE_ROW_HEIGHT)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.horizontalHeader().setStretchLastSection(False)

    def fit_columns(self) -> None:
        """Narrow columns sized to what they show: the # column to the largest index, the name
        column to the names (at most NAME_COLUMN_MAX, elided in the middle beyond), one
        column per model to its header and its widest value of the chosen metric."""
        table, header = self.table, self.horizontalHeader()
        metrics, header_metrics = self.fontMetrics(), header.fontMetrics()

        def needs(texts: list[str], title: str) -> int:
            cell = max((metrics.horizontalAdvance(t) for t in texts), default=0)
            # Room for the sort arrow beside the header text.
            return max(cell, header_metrics.horizontalAdvance(title) + SORT_ARROW) + CELL_PADDING

        self.setColumnWidth(0, needs([str(max(len(table.names) - 1, 0))], "#"))
        longest = sorted(table.names, key=len)[-20:]
        self.setColumnWidth(1, min(needs(longest, "name"), NAME_COLUMN_MAX))
        metric = table.metric
        for column, model in enumerate(table.models, start=2):
            values = table.values(model, metric)
            finite = values[np.isfinite(values)]
            samples = (
                [score_text(metric, v) for v in (finite.min(), finite.max())] if len(finite) else []
            )
            samples += [score_text(metric, v) for v in np.unique(values[~np.isfinite(values)])]
            self.setColumnWidth(column, needs(samples, table.headers()[column]))

    def needed_width(self) -> int:
        """Pixels the table needs to show every column without a horizontal scroll bar."""
        columns = sum(self.columnWidth(c) for c in range(self.table.columnCount()))
        scroll = self.verticalScrollBar().sizeHint().width()
        return columns + scroll + 2 * self.frameWidth() + 2

    def select_row(self, row: int) -> None:
        """Select visible row ``row`` (clamped) and scroll to it; nothing in an empty table."""
        if not self.table.rowCount():
            return
        row = min(max(row, 0), self.table.rowCount() - 1)
        index = self.table.index(row, 0)
        self.selectionModel().setCurrentIndex(
            index,
            self.selectionModel().SelectionFlag.ClearAndSelect
            | self.selectionModel().SelectionFlag.Rows,
        )
        self.scrollTo(index)
