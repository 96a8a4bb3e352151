"""The pane beside the panels: the name and condition filters, the score table with its
metric and damaged-share bucket, and the summary of means under it."""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from restorebench import contract
from viewer.conditions import presets
from viewer.runfiles import INPUT_MODEL
from viewer.score_table_view import ScoreTableView
from viewer.summary_table import SummaryTable
from viewer.table import ScoreTable


class TablePane:
    """A part of :class:`viewer.window.ViewerWindow` (a mixin: it works on the window's widgets
    and state): the table pane, its filters and its width."""

    def _table_pane(self) -> QWidget:
        self.name_filter = QLineEdit(placeholderText="filter names (text or glob: img01*)")
        self.condition = QLineEdit(
            placeholderText="condition, e.g. gan.ssim < vae.ssim and vae.psnr > 20"
        )
        self.presets = QComboBox()
        # As narrow as a short text: long preset names must not squeeze the condition field.
        self.presets.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.presets.setMinimumContentsLength(12)
        self.presets.activated.connect(self._preset_chosen)
        self.filter_error = QLabel(wordWrap=True)
        self.filter_error.setTextFormat(Qt.TextFormat.PlainText)
        self.filter_error.setStyleSheet("color:#a00;")
        self.name_filter.textChanged.connect(self._apply_filter)
        self.condition.textChanged.connect(self._apply_filter)
        self.count_label = QLabel()

        self.table = ScoreTable()
        self.metric_box = QComboBox()
        self.metric_box.setToolTip("The metric every model column of the table shows")
        for spec in contract.METRICS:
            self.metric_box.addItem(spec.label, spec.name)
        self.metric_box.setCurrentIndex(self.metric_box.findData(self.table.metric))
        self.metric_box.currentIndexChanged.connect(self._metric_chosen)
        self.bucket_label = QLabel("Damaged share:")
        self.bucket_box = QComboBox()
        self.bucket_box.setToolTip(
            "Only the images whose damaged share lies in a bucket of summary_buckets.csv "
            "(the image count in brackets)"
        )
        self.bucket_box.currentIndexChanged.connect(self._bucket_chosen)
        self.table_view = ScoreTableView(self.table)
        self.table_view.selectionModel().currentRowChanged.connect(self._row_changed)
        self.table.modelReset.connect(self._order_changed)
        self.table.layoutChanged.connect(self._order_changed)

        self.summary_label = QLabel("Means")
        self.summary_label.setTextFormat(Qt.TextFormat.PlainText)
        self.summary = SummaryTable()

        right = QWidget()
        right_layout = QVBoxLayout(right)
        filters = QHBoxLayout()
        filters.addWidget(self.name_filter, 1)
        filters.addWidget(self.count_label)
        right_layout.addLayout(filters)
        conditions = QHBoxLayout()
        conditions.addWidget(self.condition, 1)
        conditions.addWidget(self.presets)
        right_layout.addLayout(conditions)
        right_layout.addWidget(self.filter_error)
        shown = QHBoxLayout()
        shown.addWidget(QLabel("Table shows:"))
        shown.addWidget(self.metric_box)
        shown.addWidget(self.bucket_label)
        shown.addWidget(self.bucket_box)
        shown.addStretch(1)
        right_layout.addLayout(shown)
        right_layout.addWidget(self.table_view, 1)
        right_layout.addWidget(self.summary_label)
        right_layout.addWidget(self.summary)
        return right

    def _preset_chosen(self, i: int) -> None:
        self.condition.setText(self.presets.itemData(i))

    def _metric_chosen(self, i: int) -> None:
        self.set_metric(self.metric_box.itemData(i))

    def _bucket_chosen(self, i: int) -> None:
        bucket = self.bucket_box.itemData(i)
        self.table.set_bucket(None if bucket is None or not self.run else self.run.buckets[bucket])

    def _rebuild_presets(self) -> None:
        self.presets.clear()
        self.presets.addItem("Preset conditions…", "")
        scored = (
            {name: set(model.scores) for name, model in self.run.models.items() if model.scores}
            if self.run
            else {}
        )
        models = self.run.trained_models() if self.run else []
        for title, condition in presets(models, INPUT_MODEL, scored):
            self.presets.addItem(title, condition)
        # The combo is narrow; its list is as wide as its longest entry.
        self.presets.view().setMinimumWidth(self.presets.view().sizeHintForColumn(0) + 24)

    def _rebuild_buckets(self) -> None:
        """One choice per bucket of summary_buckets.csv, the chosen one kept when the run
        still has it; no box without buckets (or without damaged shares to bucket)."""
        buckets = self.run.buckets if self.run and self.table.mask_share is not None else []
        kept = self.table.bucket if self.table.bucket in buckets else None
        self.bucket_box.blockSignals(True)
        try:
            self.bucket_box.clear()
            self.bucket_box.addItem(f"all ({len(self.table.names)})", None)
            for i, bucket in enumerate(buckets):
                self.bucket_box.addItem(f"{bucket.label} ({self.table.bucket_count(bucket)})", i)
            if kept is not None:
                self.bucket_box.setCurrentIndex(1 + buckets.index(kept))
        finally:
            self.bucket_box.blockSignals(False)
        for widget in (self.bucket_label, self.bucket_box):
            widget.setVisible(bool(buckets))
        if kept != self.table.bucket:
            self.table.set_bucket(kept)

    def set_bucket(self, name: str | None) -> None:
        """Show only the images of the damaged-share bucket called ``name`` ('2%-5%'; None:
        every image), the same as the box above the table."""
        labels = [b.label for b in self.run.buckets] if self.run else []
        if name is not None and name not in labels:
            raise ValueError(f"no bucket '{name}' (the run has: {', '.join(labels) or 'none'})")
        data = None if name is None else labels.index(name)
        self.bucket_box.setCurrentIndex(self.bucket_box.findData(data))

    def _apply_filter(self) -> None:
        condition = self.condition.text()
        if self.presets.currentIndex() > 0 and self.presets.currentData() != condition:
            self.presets.setCurrentIndex(0)  # cleared or edited by hand: no longer that preset
        self.table.set_filter(self.name_filter.text(), condition)
        self._show_condition_error()

    def _show_condition_error(self) -> None:
        """A malformed condition filters nothing; say so, and why, in red."""
        error = self.table.condition_error
        if error is None:
            self.filter_error.setText("")
            return
        rows = (
            "every row matching the name filter" if self.table.name_filter.strip() else "every row"
        )
        self.filter_error.setText(f"Condition not applied, showing {rows}: {error}")

    def _show_summary(self) -> None:
        run = self.run
        unscored = {name: run.unscored(name) for name in run.models} if run else {}
        self.summary.show_rows(run.summary if run else [], unscored, run.interval if run else "CI")
        source = self.run.summary_source if self.run else "nothing loaded"
        self.summary_label.setText(f"Mean per model (from {source}; hover for sd, median, CI, n)")

    def _size_splitter(self) -> None:
        """Give the table pane what its table and summary need (within 30-50 % of the window),
        the panels the rest; once the user drags the divider, their width is kept."""
        if self._splitter_dragged:
            return
        total = self.splitter.width()
        if total <= 0:
            return
        margins = self._right.layout().contentsMargins()
        need = (
            max(self.table_view.needed_width(), self.summary.needed_width())
            + margins.left()
            + margins.right()
        )
        right = int(min(max(need, 0.3 * total), 0.5 * total))
        self.splitter.setSizes([total - right, right])

    def _splitter_moved(self, *_args) -> None:
        self._splitter_dragged = True

    def set_metric(self, metric: str) -> None:
        """Show ``metric`` in the table's model columns (the same as the combo above it)."""
        if self.metric_box.findData(metric) < 0:
            return
        if self.metric_box.currentData() != metric:
            self.metric_box.setCurrentIndex(self.metric_box.findData(metric))  # comes back here
            return
        self.table.set_metric(metric)
        self.table_view.fit_columns()
        self._size_splitter()
        self._retitle()
