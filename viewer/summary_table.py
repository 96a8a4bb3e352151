"""The summary under the score table: model x headline metric means, sd, median, CI, n."""

from __future__ import annotations

import math

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QColor, QFontMetrics
from PyQt6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from restorebench import contract
from restorebench.contract import Metric, SummaryStat
from viewer.score_table_view import CELL_PADDING, TABLE_ROW_HEIGHT
from viewer.scores import headline_metrics, label, score_text, why_impossible
from viewer.table import IMPOSSIBLE_COLOUR, plain_tooltip

SUMMARY_MAX_ROWS = 8  # more models than this scroll inside the summary


def formatted(value: float, digits: str) -> str:
    """``value`` formatted with ``digits``; NaN (no such statistic) as '-', as scores are."""
    return "-" if math.isnan(value) else format(value, digits)


def two_lines(text: str, metrics: QFontMetrics) -> str:
    """``text`` split at the space that makes its wider line narrowest ('damaged PSNR (dB)' ->
    'damaged PSNR' over '(dB)'): a column of short means need not be as wide as its label."""
    words = text.split(" ")
    if len(words) < 2:
        return text
    splits = [(" ".join(words[:i]), " ".join(words[i:])) for i in range(1, len(words))]
    best = min(splits, key=lambda pair: max(metrics.horizontalAdvance(t) for t in pair))
    return "\n".join(best)


def text_width(text: str, metrics: QFontMetrics) -> int:
    """Pixels the widest line of ``text`` takes."""
    return max(metrics.horizontalAdvance(line) for line in text.split("\n"))


def _cell(text: str) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


def _no_mean(model: str, spec: Metric, unscored: dict[str, list[str]]) -> QTableWidgetItem:
    """The cell of a mean the summary has no row for: '-', as a missing score shows."""
    item = _cell("-")
    if spec.name in unscored.get(model, ()):
        why = "not scored: its scores are an older run's, scored before the spec had it"
    else:
        why = "no mean: no test image has this score (n = 0)"
    item.setToolTip(plain_tooltip(f"{label(model)} {spec.label}: {why}"))
    return item


class SummaryTable(QTableWidget):
    """Model x headline metric means (every region's would not fit beside the panels),
    every cell on screen; the tooltip has sd, median, CI and n."""

    def __init__(self):
        super().__init__()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setWordWrap(False)
        self.verticalHeader().setDefaultSectionSize(TABLE_ROW_HEIGHT)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        # Each column as wide as its header or widest mean ('damaged PSNR (dB)' needs more than
        # 'MSE'); the last takes what is left of the pane.
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)

    def show_rows(
        self,
        rows: list[SummaryStat],
        unscored: dict[str, list[str]] | None = None,
        interval: str = "CI",
    ) -> None:
        """Show the means of ``rows`` (summary.csv's or computed), as tall as its rows; a
        cell without a row shows '-' and says why: no image has the score, or the model's
        scores lack it (``unscored``: each model's, from an older run). ``interval`` names
        the rows' interval in the tooltips (its level: ``Run.interval``)."""
        models = list(dict.fromkeys(r.model for r in rows))
        specs = {m.name: m for m in headline_metrics()}
        self.clear()
        self.setColumnCount(len(specs))
        # Labels on two lines: eight headline metrics side by side fit at 1280x720.
        header_metrics = self.horizontalHeader().fontMetrics()
        self.setHorizontalHeaderLabels([two_lines(m.label, header_metrics) for m in specs.values()])
        self.setRowCount(len(models))
        self.setVerticalHeaderLabels([label(m) for m in models])
        for column, spec in enumerate(specs.values()):
            better = "lower" if spec.lower_is_better else "higher"
            header = self.horizontalHeaderItem(column)
            over = (
                "the test images"
                if spec.region == contract.IMAGE
                else f"the test images that have {contract.REGION_LABELS[spec.region]} pixels"
            )
            header.setToolTip(plain_tooltip(f"{spec.label}: mean over {over} ({better} is better)"))
            for row, model in enumerate(models):
                self.setItem(row, column, _no_mean(model, spec, unscored or {}))
        for row in rows:
            if row.metric not in specs:
                continue
            item = _cell(score_text(row.metric, row.mean))
            low, high = formatted(row.ci_low, ".4g"), formatted(row.ci_high, ".4g")
            tip = (
                f"{label(row.model)} {specs[row.metric].label}: mean {formatted(row.mean, '.4g')} "
                f"± {formatted(row.std, '.3g')} (sd), median {formatted(row.median, '.4g')}, "
                f"{interval} [{low}, {high}], n = {row.n}"
            )
            if why := why_impossible(row.metric, row.mean):
                item.setBackground(QColor(IMPOSSIBLE_COLOUR))
                tip = f"{why}\n{tip}"
            item.setToolTip(plain_tooltip(tip))
            self.setItem(models.index(row.model), list(specs).index(row.metric), item)
        # As tall as its rows (up to SUMMARY_MAX_ROWS): no scroll bar hides a model.
        shown = min(len(models), SUMMARY_MAX_ROWS)
        frame = 2 * self.frameWidth()
        header = self.horizontalHeader().sizeHint().height()
        extra = 0 if len(models) <= SUMMARY_MAX_ROWS else 2
        self.setFixedHeight(header + shown * TABLE_ROW_HEIGHT + frame + extra)

    def needed_width(self) -> int:
        """Pixels the summary needs for every header and mean to show unclipped."""
        metrics = self.fontMetrics()
        header_metrics = self.horizontalHeader().fontMetrics()
        width = self.verticalHeader().sizeHint().width() + 2 * self.frameWidth()
        for column in range(self.columnCount()):
            title = self.horizontalHeaderItem(column).text()
            cells = [self.item(r, column) for r in range(self.rowCount())]
            widths = [metrics.horizontalAdvance(c.text()) for c in cells if c is not None]
            width += CELL_PADDING + max([text_width(title, header_metrics), *widths])
        return width
