"""The main window: image panels, the score table with its filters, the summary, exports.

The window owns one open :class:`~viewer.runfiles.Run` at a time. Every file
problem ends up in the red banner at the top rather than in an exception, and
when the run's files change on disk (Snakemake deletes and rewrites them) the run
is re-opened after a short quiet period, keeping the image that was on screen.

The compare view (a swipe or a flicker of two panels, :class:`viewer.panels.CompareView`)
takes the panel grid's place while it is on; its state is a
:class:`viewer.compare.CompareState`. The mask overlay (M) draws the damage masks over
the panels and the compare view; its rules are :mod:`viewer.overlay`'s. What made each
output (its provenance record) is in the model boxes' tooltips and, with the settings,
in *File → About this run*; the text is :mod:`viewer.about`'s.
"""

from __future__ import annotations

import html
import math
import re
from pathlib import Path

import numpy as np
from PyQt6.QtCore import QFileSystemWatcher, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QAction, QActionGroup, QColor, QFontDatabase, QKeySequence
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPlainTextEdit,
    QPushButton,
    QSlider,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from restorebench import contract
from viewer.about import model_tooltip, run_text
from viewer.compare import FLICKER, FLICKER_MS, MODES, OFF, SWIPE, CompareState
from viewer.conditions import presets
from viewer.overlay import FOUND, MODE_NAMES, TITLE_NOTES, TRUE, Overlay, mask_kind, next_mode
from viewer.overlay import MODES as MASK_MODES
from viewer.overlay import OFF as MASK_OFF
from viewer.panels import CompareView, PanelGrid, Title
from viewer.runfiles import CLEAN, DAMAGED, FIXED_PANELS, INPUT_MODEL, Run, RunError
from viewer.scores import headline_metrics, label, score_text, valid, why_impossible
from viewer.table import IMPOSSIBLE_COLOUR, ScoreTable, plain_tooltip

RELOAD_DELAY_MS = 500
CELL_PADDING = 14  # px around a table cell's text
SORT_ARROW = 16  # px the header's sort indicator takes
NAME_COLUMN_MAX = 130  # px: longer image names are elided in the middle (full name in the tooltip)
TABLE_ROW_HEIGHT = 20
SUMMARY_MAX_ROWS = 8  # more models than this scroll inside the summary


def formatted(value: float, digits: str) -> str:
    """``value`` formatted with ``digits``; NaN (no such statistic) as '-', as scores are."""
    return "-" if math.isnan(value) else format(value, digits)


def panel_name(key: str) -> str:
    """How a panel is named in the compare choices: 'damaged input', 'clean', 'GAN'."""
    return {"damaged": "damaged input", "clean": "clean"}.get(key) or label(key)


def title_metrics(chosen: str) -> tuple[contract.Metric, ...]:
    """What a panel title scores: the whole-image metrics, and the table's metric when it
    scores a region (the title stays a line or two, whatever the spec's regions)."""
    whole = contract.metrics_in(contract.REGIONS[0])
    spec = contract.metric(chosen)
    return (*whole, spec) if spec.region in contract.REGIONS[1:] else whole


def score_item(title: Title, spec: contract.Metric, value: float) -> None:
    """Add '<label> <value>' to ``title``; a score its metric cannot take is red and marked
    '(impossible)'."""
    shown = f"{spec.label} {score_text(spec.name, value)}"
    if not valid(spec.name, value):
        title.bad.add(len(title.items))
        shown += " (impossible)"
    title.items.append(shown)


def score_title(name: str, scores: dict[str, float] | None, chosen: str) -> Title:
    """Panel title: the name and that image's scores of :func:`title_metrics`, wrapped to
    the panel."""
    if scores is None:
        return Title(name, items=["no scores"])
    title = Title(name)
    for spec in title_metrics(chosen):
        if spec.name in scores:
            score_item(title, spec, scores[spec.name])
    return title


class _Splitter(QSplitter):
    """A QSplitter that says when it has its new size (a window's resize comes before)."""

    resized = pyqtSignal()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.resized.emit()


class ViewerWindow(QMainWindow):
    def __init__(self, run_path: Path | str, models: list[str] | None = None):
        """``models``: the panels to tick; None ticks every trained model, also those that
        appear while the window is open."""
        super().__init__()
        self.run_path = Path(run_path)
        self.run: Run | None = None
        self.current: int | None = None
        self.problems: list[str] = []
        self.asked = list(models) if models is not None else None
        self.chosen = set(models or ())
        self._offered: set[str] = set()  # models that had a box: a new one is ticked by default
        self._hover: tuple[int, int] | None = None  # the last image pixel under the cursor
        self._splitter_dragged = False  # the user set the table's width: keep it
        self.compare = CompareState()
        self.mask_mode = MASK_OFF
        self.setWindowTitle(f"restorebench viewer — {self.run_path}")
        self._build()
        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(self._files_changed)
        self._watcher.fileChanged.connect(self._files_changed)
        self._reload_timer = QTimer(self, singleShot=True, interval=RELOAD_DELAY_MS)
        self._reload_timer.timeout.connect(self.reload)
        # The flicker: each tick shows the other of A and B.
        self.flicker_timer = QTimer(self, interval=FLICKER_MS)
        self.flicker_timer.timeout.connect(self.flick)
        self.reload()

    # -- layout ----------------------------------------------------------------------------
    def _build(self) -> None:
        self.banner = QLabel(wordWrap=True)
        self.banner.setTextFormat(Qt.TextFormat.RichText)  # escaped lines joined by <br>
        self.banner.setStyleSheet("background:#fde2e2; color:#800; padding:4px;")
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.hide()

        self.model_bar = QHBoxLayout()
        self.model_boxes: dict[str, QCheckBox] = {}
        self.diff_box = QCheckBox("Difference view (D)")
        self.diff_box.toggled.connect(self.set_diff_mode)
        self.fit_button = QPushButton("Fit (F)")
        self.fit_button.setToolTip("Show the whole image in every panel (F or Ctrl+0)")
        self.fit_button.clicked.connect(self.fit_images)
        # Narrow (the panel boxes share its row): a click cycles like M, the arrow opens the
        # modes, the text says the one on.
        self.mask_button = QToolButton()
        self.mask_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.mask_button.setToolTip(
            "Damage mask over the panels (M or a click cycles; the arrow lists the modes): "
            "'true' the dataset's in magenta; 'found' in cyan the damage each model found "
            "itself, where its predictions store it"
        )
        self.mask_button.clicked.connect(self.cycle_mask)

        self.panels = PanelGrid()
        self.panels.pixelHovered.connect(self._hovered)
        self.compare_view = CompareView(self.panels)
        self.compare_view.pixelHovered.connect(self._hovered)
        self.compare_view.dividerMoved.connect(self.set_divider)
        # The compare view takes the grid's place while it is on.
        self.view_stack = QStackedWidget()
        self.view_stack.addWidget(self.panels)
        self.view_stack.addWidget(self.compare_view)
        self.pixel_label = QLabel("Pixel values appear here under the cursor.")
        self.pixel_label.setTextFormat(Qt.TextFormat.PlainText)
        self.pixel_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        top = QHBoxLayout()
        top.addWidget(QLabel("Panels:"))
        top.addLayout(self.model_bar)
        top.addStretch(1)
        top.addWidget(self.fit_button)
        top.addWidget(self.mask_button)
        top.addWidget(self.diff_box)
        left_layout.addLayout(top)
        left_layout.addLayout(self._compare_bar())
        left_layout.addWidget(self.view_stack, 1)
        left_layout.addWidget(self.pixel_label)

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
        self.table_view = QTableView()
        self.table_view.setModel(self.table)
        self.table_view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table_view.setWordWrap(False)
        self.table_view.setSortingEnabled(True)
        self.table_view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table_view.verticalHeader().hide()
        self.table_view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table_view.verticalHeader().setDefaultSectionSize(TABLE_ROW_HEIGHT)
        self.table_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table_view.horizontalHeader().setStretchLastSection(False)
        self.table_view.selectionModel().currentRowChanged.connect(self._row_changed)
        self.table.modelReset.connect(self._order_changed)
        self.table.layoutChanged.connect(self._order_changed)

        self.summary_label = QLabel("Means")
        self.summary_label.setTextFormat(Qt.TextFormat.PlainText)
        self.summary = QTableWidget()
        self.summary.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.summary.setWordWrap(False)
        self.summary.verticalHeader().setDefaultSectionSize(TABLE_ROW_HEIGHT)
        self.summary.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        # Each column as wide as its header or widest mean ('hole PSNR (dB)' needs more than
        # 'MSE'); the last takes what is left of the pane.
        summary_header = self.summary.horizontalHeader()
        summary_header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        summary_header.setStretchLastSection(True)
        self.summary.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)

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

        self.splitter = splitter = _Splitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 0)
        splitter.setChildrenCollapsible(False)
        splitter.splitterMoved.connect(self._splitter_moved)
        splitter.resized.connect(self._size_splitter)
        self._right = right

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.banner)
        layout.addWidget(splitter, 1)
        self.setCentralWidget(central)
        self._actions()
        self._build_about()
        self.resize(1500, 900)

    def _compare_bar(self) -> QHBoxLayout:
        """Compare (C): mode, A and B, then the divider (swipe) or step and auto (flicker)."""
        self.compare_mode_box = QComboBox()
        self.compare_mode_box.setToolTip("Compare two panels: swipe or flicker (C cycles)")
        for mode in MODES:
            self.compare_mode_box.addItem(mode, mode)
        self.compare_mode_box.currentIndexChanged.connect(self._compare_mode_chosen)
        self.compare_a, self.compare_b = QComboBox(), QComboBox()
        for box, side in ((self.compare_a, "A"), (self.compare_b, "B")):
            box.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            box.setMinimumContentsLength(9)
            box.setToolTip(f"Panel {side} of the comparison")
        self.compare_a.activated.connect(self._compare_a_chosen)
        self.compare_b.activated.connect(self._compare_b_chosen)
        self.swap_button = QToolButton(text="⇄")
        self.swap_button.setToolTip("Swap A and B")
        self.swap_button.clicked.connect(self.swap_compare)
        self.divider_slider = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100)
        self.divider_slider.setToolTip(
            "Swipe divider: A left of it, B right of it ([ and ] move it; or drag the line)"
        )
        self.divider_slider.setMinimumWidth(80)
        self.divider_slider.setMaximumWidth(180)
        self.divider_slider.valueChanged.connect(self._slider_moved)
        self.divider_label = QLabel()
        self.step_button = QPushButton("Step (Space)")
        self.step_button.setToolTip("Show the other of A and B (pauses the flicker)")
        self.step_button.clicked.connect(self.step_flicker)
        self.auto_box = QCheckBox(f"Auto {FLICKER_MS / 1000:g} s (P)", checked=True)
        self.auto_box.setToolTip(f"Alternate A and B every {FLICKER_MS} ms")
        self.auto_box.toggled.connect(self.set_flicker_auto)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Compare (C):"))
        bar.addWidget(self.compare_mode_box)
        bar.addWidget(QLabel("A"))
        bar.addWidget(self.compare_a)
        bar.addWidget(self.swap_button)
        bar.addWidget(QLabel("B"))
        bar.addWidget(self.compare_b)
        bar.addWidget(self.divider_slider)
        bar.addWidget(self.divider_label)
        bar.addWidget(self.step_button)
        bar.addWidget(self.auto_box)
        bar.addStretch(1)
        return bar

    def _actions(self) -> None:
        menu = self.menuBar()
        file_menu, view_menu = menu.addMenu("&File"), menu.addMenu("&View")
        entries = [
            (file_menu, "Export quadruplet as PNG…", "Ctrl+E", self._export_png_chosen),
            (file_menu, "Export filtered table as CSV…", "Ctrl+Shift+E", self._export_csv_chosen),
            (file_menu, "Reload", "F5", self.reload),
            (file_menu, "About this run…", "Ctrl+I", self.show_about),
            (file_menu, "Quit", "Ctrl+Q", self.close),
            (view_menu, "Previous image", "Left", self.previous_image),
            (view_menu, "Next image", "Right", self.next_image),
            (view_menu, "First image", "Home", self.first_image),
            (view_menu, "Last image", "End", self.last_image),
            (view_menu, "Toggle difference view", "D", self.diff_box.toggle),
            (view_menu, "Fit images to panels", ("F", "Ctrl+0"), self.fit_images),
            (view_menu, "Compare: off / swipe / flicker", "C", self.cycle_compare),
            (view_menu, "Flicker: show the other", "Space", self.step_flicker),
            (view_menu, "Flicker: auto on/off", "P", self.auto_box.toggle),
            (view_menu, "Swipe: divider left", "[", self.divider_left),
            (view_menu, "Swipe: divider right", "]", self.divider_right),
            (view_menu, "Mask overlay: off / true / found", "M", self.cycle_mask),
        ]
        # Slots are bound methods, never lambdas holding ``self``: a lambda makes the window
        # part of a reference cycle, and then Python's cyclic garbage collector destroys a
        # closed window at an arbitrary later moment, possibly while Qt is still delivering
        # one of its events (a crash), instead of when its last reference goes.
        self.compare_actions: dict[str, QAction] = {}
        for menu_, title, keys, slot in entries:
            action = QAction(title, self)
            keys = (keys,) if isinstance(keys, str) else keys
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.triggered.connect(slot)
            menu_.addAction(action)
            self.addAction(action)
            if title.startswith(("Flicker:", "Swipe:")):
                self.compare_actions[title] = action
        self._mask_actions(view_menu)

    def _mask_actions(self, view_menu) -> None:
        """The overlay's modes as exclusive checkable actions: the menu shows the one on."""
        menu = view_menu.addMenu("Mask overlay")
        self.mask_group = QActionGroup(self)
        self.mask_group.setExclusive(True)
        self.mask_actions: dict[str, QAction] = {}
        for mode in MASK_MODES:
            action = QAction(f"Mask overlay: {MODE_NAMES[mode]}", self, checkable=True)
            action.setData(mode)
            action.setChecked(mode == self.mask_mode)
            self.mask_group.addAction(action)
            menu.addAction(action)
            self.mask_actions[mode] = action
        self.mask_group.triggered.connect(self._mask_action_chosen)
        self.mask_button.setMenu(menu)
        self._show_mask_mode()

    # -- slots of the controls (bound methods: see _actions) ---------------------------------
    def _preset_chosen(self, i: int) -> None:
        self.condition.setText(self.presets.itemData(i))

    def _metric_chosen(self, i: int) -> None:
        self.set_metric(self.metric_box.itemData(i))

    def _mask_action_chosen(self, action: QAction) -> None:
        self.set_mask_mode(action.data())

    def _bucket_chosen(self, i: int) -> None:
        bucket = self.bucket_box.itemData(i)
        self.table.set_bucket(None if bucket is None or not self.run else self.run.buckets[bucket])

    def _compare_mode_chosen(self, i: int) -> None:
        self.set_compare_mode(self.compare_mode_box.itemData(i))

    def _compare_a_chosen(self, i: int) -> None:
        self.set_compare_pair(self.compare_a.itemData(i), None)

    def _compare_b_chosen(self, i: int) -> None:
        self.set_compare_pair(None, self.compare_b.itemData(i))

    def _slider_moved(self, value: int) -> None:
        self.set_divider(value / 100)

    def _export_png_chosen(self) -> None:
        self.export_png()

    def _export_csv_chosen(self) -> None:
        self.export_csv()

    def previous_image(self) -> None:
        self.step(-1)

    def next_image(self) -> None:
        self.step(1)

    def first_image(self) -> None:
        self.go_to_row(0)

    def last_image(self) -> None:
        self.go_to_row(self.table.rowCount() - 1)

    def divider_left(self) -> None:
        self.nudge_divider(-1)

    def divider_right(self) -> None:
        self.nudge_divider(1)

    # -- loading ---------------------------------------------------------------------------
    def reload(self) -> None:
        """(Re)open the run; keep the image on screen when it is still there."""
        name = self.run.names[self.current] if self.run and self.current is not None else None
        if self.run:
            self.run.close()
        self.run, self.current = None, None
        try:
            self.run = Run(self.run_path)
        except RunError as error:
            self.problems = [str(error)]
        else:
            self.problems = list(self.run.problems)
            self._choose_defaults()
        self._rebuild_model_boxes()
        self._rebuild_presets()
        self._rebuild_panels()
        # The table keeps the condition typed, and reports it if it no longer applies.
        self.table.set_run(self.run)
        self._rebuild_buckets()
        self._name_mask_modes()
        self._show_condition_error()
        self._fit_table_columns()
        self._fill_summary()
        self._size_splitter()
        self._watch()
        self.about_text.setPlainText(self._about_text())
        start = self.run.names.index(name) if self.run and name in self.run.names else None
        if start is not None and self.table.row_of(start) is not None:
            self.show_index(start)
        elif self.table.rowCount():
            self.go_to_row(0)
        else:
            self._show_nothing()
        self._update_banner()

    def _watch(self) -> None:
        if self._watcher.files() or self._watcher.directories():
            self._watcher.removePaths(self._watcher.files() + self._watcher.directories())
        paths = (
            self.run.watched_paths() if self.run else [p for p in (self.run_path,) if p.exists()]
        )
        if paths:
            self._watcher.addPaths([str(p) for p in paths])

    def _files_changed(self, _path: str) -> None:
        self._reload_timer.start()

    def _choose_defaults(self) -> None:
        """Tick every trained model not offered before (unless the panels were asked for);
        name the asked-for models the run does not have."""
        if self.asked is None:
            self.chosen.update(m for m in self.run.trained_models() if m not in self._offered)
        elif why := self.run.unknown_models(self.asked):
            self.problems.append(f"panels asked for: {why}")
        self._offered.update(self.run.image_models())

    def _rebuild_model_boxes(self) -> None:
        for box in self.model_boxes.values():
            self.model_bar.removeWidget(box)
            box.deleteLater()
        self.model_boxes = {}
        for model in self.run.image_models() if self.run else []:
            # '&' would otherwise mark a keyboard accelerator and vanish from the label.
            box = QCheckBox(label(model).replace("&", "&&"), checked=model in self.chosen)
            box.setProperty("model", model)
            box.setToolTip(plain_tooltip(model_tooltip(self.run.models[model])))
            box.toggled.connect(self._model_box_toggled)
            self.model_bar.addWidget(box)
            self.model_boxes[model] = box

    def _model_box_toggled(self, on: bool) -> None:
        self.choose_model(self.sender().property("model"), on)

    def choose_model(self, model: str, on: bool) -> None:
        """Add or remove a model's panel (the same as ticking its box)."""
        (self.chosen.add if on else self.chosen.discard)(model)
        if model in self.model_boxes and self.model_boxes[model].isChecked() != on:
            self.model_boxes[model].setChecked(on)
        self._rebuild_panels()
        if self.current is not None:
            self.show_index(self.current)

    def _rebuild_presets(self) -> None:
        self.presets.clear()
        self.presets.addItem("Preset conditions…", "")
        for title, condition in presets(self.run.trained_models() if self.run else [], INPUT_MODEL):
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

    def _name_mask_modes(self) -> None:
        """Say in the menu and on the button when the true damage is recovered from the
        pairs (dataset.h5 stores no masks), not read."""
        recovered = self.run is not None and self.run.mask_recovered
        name = MODE_NAMES[TRUE] + (" (recovered from the pairs)" if recovered else "")
        self.mask_actions[TRUE].setText(f"Mask overlay: {name}")
        self._show_mask_mode()

    def _show_mask_mode(self) -> None:
        """The button's text: the mode on (as --mask names it), 'recovered' for a true
        damage recovered from the pairs."""
        recovered = self.run is not None and self.run.mask_recovered
        shown = "recovered" if self.mask_mode == TRUE and recovered else self.mask_mode
        self.mask_button.setText(f"Mask (M): {shown}")

    def _rebuild_panels(self) -> None:
        models = self.run.image_models() if self.run else []
        self.panels.set_panels([*FIXED_PANELS, *(m for m in models if m in self.chosen)])
        self.compare.fit_to(list(self.panels.panels))
        for box in (self.compare_a, self.compare_b):
            box.clear()
            for key in self.panels.panels:
                box.addItem(panel_name(key), key)
        self._sync_compare_controls()

    def _fill_summary(self) -> None:
        """Model x headline metric means (every region's would not fit beside the panels),
        every cell on screen; the tooltip has sd, median, CI and n."""
        rows = self.run.summary if self.run else []
        models = list(dict.fromkeys(r.model for r in rows))
        specs = {m.name: m for m in headline_metrics()}
        self.summary.clear()
        self.summary.setColumnCount(len(specs))
        self.summary.setHorizontalHeaderLabels([m.label for m in specs.values()])
        self.summary.setRowCount(len(models))
        self.summary.setVerticalHeaderLabels([label(m) for m in models])
        for column, spec in enumerate(specs.values()):
            better = "lower" if spec.lower_is_better else "higher"
            header = self.summary.horizontalHeaderItem(column)
            over = (
                "the test images"
                if spec.region == "image"
                else "the test images that have "
                + ("damaged" if spec.region == "hole" else spec.region)
                + " pixels"
            )
            header.setToolTip(plain_tooltip(f"{spec.label}: mean over {over} ({better} is better)"))
        for row in rows:
            if row.metric not in specs:
                continue
            item = QTableWidgetItem(score_text(row.metric, row.mean))
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            low, high = formatted(row.ci_low, ".4g"), formatted(row.ci_high, ".4g")
            tip = (
                f"{label(row.model)} {specs[row.metric].label}: mean {formatted(row.mean, '.4g')} "
                f"± {formatted(row.std, '.3g')} (sd), median {formatted(row.median, '.4g')}, "
                f"95% CI [{low}, {high}], n = {row.n}"
            )
            if why := why_impossible(row.metric, row.mean):
                item.setBackground(QColor(IMPOSSIBLE_COLOUR))
                tip = f"{why}\n{tip}"
            item.setToolTip(plain_tooltip(tip))
            self.summary.setItem(models.index(row.model), list(specs).index(row.metric), item)
        source = self.run.summary_source if self.run else "nothing loaded"
        self.summary_label.setText(f"Mean per model (from {source}; hover for sd, median, CI, n)")
        # As tall as its rows (up to SUMMARY_MAX_ROWS): no scroll bar hides a model.
        shown = min(len(models), SUMMARY_MAX_ROWS)
        frame = 2 * self.summary.frameWidth()
        header = self.summary.horizontalHeader().sizeHint().height()
        extra = 0 if len(models) <= SUMMARY_MAX_ROWS else 2
        self.summary.setFixedHeight(header + shown * TABLE_ROW_HEIGHT + frame + extra)

    def summary_width(self) -> int:
        """Pixels the summary needs for every header and mean to show unclipped."""
        metrics = self.summary.fontMetrics()
        header_metrics = self.summary.horizontalHeader().fontMetrics()
        width = self.summary.verticalHeader().sizeHint().width() + 2 * self.summary.frameWidth()
        for column in range(self.summary.columnCount()):
            title = self.summary.horizontalHeaderItem(column).text()
            cells = [self.summary.item(r, column) for r in range(self.summary.rowCount())]
            widths = [metrics.horizontalAdvance(c.text()) for c in cells if c is not None]
            width += CELL_PADDING + max([header_metrics.horizontalAdvance(title), *widths])
        return width

    # -- table geometry --------------------------------------------------------------------
    def _fit_table_columns(self) -> None:
        """Narrow columns sized to what they show: the # column to the largest index, the name
        column to the names (at most NAME_COLUMN_MAX, elided in the middle beyond), one
        column per model to its header and its widest value of the chosen metric."""
        table, header = self.table, self.table_view.horizontalHeader()
        metrics, header_metrics = self.table_view.fontMetrics(), header.fontMetrics()

        def needs(texts: list[str], title: str) -> int:
            cell = max((metrics.horizontalAdvance(t) for t in texts), default=0)
            # Room for the sort arrow beside the header text.
            return max(cell, header_metrics.horizontalAdvance(title) + SORT_ARROW) + CELL_PADDING

        self.table_view.setColumnWidth(0, needs([str(max(len(table.names) - 1, 0))], "#"))
        longest = sorted(table.names, key=len)[-20:]
        self.table_view.setColumnWidth(1, min(needs(longest, "name"), NAME_COLUMN_MAX))
        metric = table.metric
        for column, model in enumerate(table.models, start=2):
            values = table.scores[model][metric]
            finite = values[np.isfinite(values)]
            samples = (
                [score_text(metric, v) for v in (finite.min(), finite.max())] if len(finite) else []
            )
            samples += [score_text(metric, v) for v in np.unique(values[~np.isfinite(values)])]
            self.table_view.setColumnWidth(column, needs(samples, table.headers()[column]))

    def table_width(self) -> int:
        """Pixels the table needs to show every column without a horizontal scroll bar."""
        columns = sum(self.table_view.columnWidth(c) for c in range(self.table.columnCount()))
        scroll = self.table_view.verticalScrollBar().sizeHint().width()
        return columns + scroll + 2 * self.table_view.frameWidth() + 2

    def _size_splitter(self) -> None:
        """Give the table pane what its table and summary need (within 30-50 % of the window),
        the panels the rest; once the user drags the divider, their width is kept."""
        if self._splitter_dragged:
            return
        total = self.splitter.width()
        if total <= 0:
            return
        margins = self._right.layout().contentsMargins()
        need = max(self.table_width(), self.summary_width()) + margins.left() + margins.right()
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
        self._fit_table_columns()
        self._size_splitter()
        self._retitle()

    # -- navigation ------------------------------------------------------------------------
    def go_to_row(self, row: int) -> None:
        """Select a visible table row (clamped); the selection shows its images."""
        if not self.table.rowCount():
            return
        row = min(max(row, 0), self.table.rowCount() - 1)
        index = self.table.index(row, 0)
        self.table_view.selectionModel().setCurrentIndex(
            index,
            self.table_view.selectionModel().SelectionFlag.ClearAndSelect
            | self.table_view.selectionModel().SelectionFlag.Rows,
        )
        self.table_view.scrollTo(index)

    def step(self, delta: int) -> None:
        """Previous/next image in the table's visible order."""
        row = self.table.row_of(self.current) if self.current is not None else None
        self.go_to_row(0 if row is None else row + delta)

    def _row_changed(self, current, _previous) -> None:
        if current.isValid():
            self.show_index(int(self.table.order[current.row()]))

    def _order_changed(self) -> None:
        self.count_label.setText(f"{self.table.rowCount()} of {len(self.table.names)}")
        if self.current is None:
            return
        row = self.table.row_of(self.current)
        if row is None:
            self.go_to_row(0)
        elif self.table_view.currentIndex().row() != row:
            self.go_to_row(row)

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

    # -- display ---------------------------------------------------------------------------
    def image_scores(self, model: str, index: int) -> dict[str, float] | None:
        scores = self.run.models[model].scores if self.run and model in self.run.models else None
        if scores is None:
            return None
        return {metric: float(values[index]) for metric, values in scores.items()}

    def show_index(self, index: int) -> None:
        """Show test image ``index`` (dataset order) in every panel."""
        if self.run is None:
            return
        if self.table.row_of(
            index
        ) is not None and self.table_view.currentIndex().row() != self.table.row_of(index):
            self.current = index
            self.go_to_row(self.table.row_of(index))  # comes back here through the selection
        self.current = index
        images, notes = self._read_images(index)
        self.panels.show_images(images, self._titles(index, images), notes)
        self.panels.show_overlays(self._overlays(index))
        self._draw_compare()
        self._refresh_pixel()

    def _read_images(self, index: int) -> tuple[dict[str, np.ndarray | None], dict[str, str]]:
        """Each panel's image ``index``, and why a panel has none."""
        images, notes = {}, {}
        for key in self.panels.panels:
            try:
                images[key] = self.run.image(key, index)
            except OSError as error:
                images[key] = None
                name = self.run.names[index]
                self._add_problem(f"{key}: image {index} ('{name}') cannot be read ({error})")
            if images[key] is None:
                model = self.run.models.get(INPUT_MODEL if key == DAMAGED else key)
                reason = "; ".join(model.missing) if model and model.missing else "cannot be read"
                notes[key] = f"not available\n({reason})"
        return images, notes

    def _titles(self, index: int, images: dict[str, np.ndarray | None]) -> dict[str, Title]:
        """Each panel's title for image ``index``: the reference's name, index and damaged
        share, the others' scores, and in the found overlay which mask each shows."""
        titles = {}
        for key in self.panels.panels:
            if images.get(key) is None:
                titles[key] = Title(label(key), "— not available")
                continue
            if key == CLEAN:
                titles[key] = Title("clean", "(reference)", [self.run.names[index], f"#{index}"])
                share = self.table.mask_share
                if share is not None:
                    score_item(titles[key], contract.MASK_SHARE, float(share[index]))
            else:
                name = "damaged input" if key == DAMAGED else label(key)
                scores = self.image_scores(INPUT_MODEL if key == DAMAGED else key, index)
                titles[key] = score_title(name, scores, self.table.metric)
            if self.mask_mode == FOUND:
                self._note_found_mask(titles[key], key, index)
        return titles

    def _note_found_mask(self, title: Title, key: str, index: int) -> None:
        """Say which mask the panel shows (or that its model found none), and how well a
        model's found mask matches the damage (its first mask score) where the run has it."""
        kind = mask_kind(FOUND, key, self.run.has_found_mask(key))
        title.note = f"{title.note} {TITLE_NOTES[kind]}".strip()
        scores = self.run.models[key].mask_scores if kind == FOUND else None
        if scores is not None:
            spec = contract.MASK_SCORES[0]
            score_item(title, spec, float(scores[spec.name][index]))

    def _overlays(self, index: int) -> dict[str, Overlay]:
        """Each panel's mask overlay of image ``index`` in the overlay mode on (none when off);
        a mask that cannot be read is named in the banner and left out."""
        overlays: dict[str, Overlay] = {}
        truth: Overlay | None = None
        for key in self.panels.panels:
            kind = mask_kind(self.mask_mode, key, self.run.has_found_mask(key))
            try:
                if kind == TRUE:
                    truth = truth or Overlay.of_true(self.run.true_mask(index))
                    overlays[key] = truth
                elif kind == FOUND:
                    overlays[key] = Overlay(self.run.found_mask(key, index), FOUND)
            except OSError as error:
                owner = "dataset.h5" if kind == TRUE else label(key)
                self._add_problem(f"{owner}: the mask of image {index} cannot be read ({error})")
        return overlays

    def _retitle(self) -> None:
        """Titles again for the image on screen, without re-reading it."""
        if self.run is None or self.current is None:
            return
        self.panels.set_titles(self._titles(self.current, self.panels.images))
        self._draw_compare()

    def set_mask_mode(self, mode: str) -> None:
        """'off', 'true' or 'found' (the same as the button, the menu and M; see
        viewer.overlay)."""
        mask_kind(mode, CLEAN, False)  # a ValueError for an unknown mode
        self.mask_mode = mode
        self.mask_actions[mode].setChecked(True)
        self._show_mask_mode()
        if self.run is not None and self.current is not None:
            self.panels.show_overlays(self._overlays(self.current))
        self._retitle()  # the found overlay's notes

    def cycle_mask(self) -> None:
        """M: off -> true -> found -> off."""
        self.set_mask_mode(next_mode(self.mask_mode))

    def _show_nothing(self) -> None:
        keys = list(self.panels.panels)
        self.panels.show_images(
            {k: None for k in keys},
            {k: Title(label(k)) for k in keys},
            {k: "not available" for k in keys},
        )
        self.panels.show_overlays({})
        self._draw_compare()
        self._refresh_pixel()

    def fit_images(self) -> None:
        """Show every panel's whole image again (F, Ctrl+0, the Fit button)."""
        self.panels.fit()
        if self.compare.active:
            self.compare_view.fit()

    def set_diff_mode(self, on: bool) -> None:
        if self.diff_box.isChecked() != on:
            self.diff_box.setChecked(on)
        self.panels.set_diff_mode(on)
        self._draw_compare()

    # -- compare ---------------------------------------------------------------------------
    def set_compare_mode(self, mode: str) -> None:
        """'off', 'swipe' or 'flicker' (the same as the combo; C cycles)."""
        was = self.compare.mode
        self.compare.set_mode(mode)
        self._sync_compare_controls()
        self._draw_compare()
        if was != OFF and mode == OFF and not self.panels.zoomed:
            self.panels.fit()  # the compare view fitted itself; the panels refit to theirs

    def cycle_compare(self) -> None:
        """C: off -> swipe -> flicker -> off."""
        self.set_compare_mode(MODES[(MODES.index(self.compare.mode) + 1) % len(MODES)])

    def set_compare_pair(self, a: str | None, b: str | None) -> None:
        """Compare panels ``a`` and ``b`` (None keeps that one). Choosing for one side the
        panel the other side shows swaps them. A model without a panel gets one."""
        a = self.compare.a if a is None else a
        b = self.compare.b if b is None else b
        if a == b:
            a, b = (a, self.compare.a) if a != self.compare.a else (self.compare.b, b)
        for key in (a, b):
            if key not in self.panels.panels and self.run and key in self.run.image_models():
                self.choose_model(key, True)
        self.compare.a, self.compare.b = a, b
        self.compare.fit_to(list(self.panels.panels))
        self._sync_compare_controls()
        self._draw_compare()

    def swap_compare(self) -> None:
        self.compare.swap()
        self._sync_compare_controls()
        self._draw_compare()

    def set_divider(self, fraction: float) -> None:
        """Put the swipe's divider at ``fraction`` of the image width (0: all B, 1: all A)."""
        self.compare.set_divider(fraction)
        self._sync_compare_controls()
        self._draw_compare()

    def nudge_divider(self, steps: int) -> None:
        """'[' and ']': move the divider a tenth of the width (to the next tenth)."""
        if self.compare.mode == SWIPE:
            self.compare.nudge(steps)
            self.set_divider(self.compare.divider)

    def flick(self) -> None:
        """The flicker's tick (the timer's slot): show the other of A and B."""
        if self.compare.mode == FLICKER:
            self.compare.flick()
            self._draw_compare()

    def step_flicker(self) -> None:
        """Space or the Step button: show the other of A and B, and stop the automatic flicker."""
        if self.compare.mode != FLICKER:
            return
        self.set_flicker_auto(False)
        self.flick()

    def set_flicker_auto(self, on: bool) -> None:
        self.compare.auto = on
        self._sync_compare_controls()

    def _sync_compare_controls(self) -> None:
        """The controls and the timer say what the state says."""
        state = self.compare
        widgets = (
            self.compare_mode_box,
            self.compare_a,
            self.compare_b,
            self.divider_slider,
            self.auto_box,
        )
        for widget in widgets:
            widget.blockSignals(True)
        try:
            self.compare_mode_box.setCurrentIndex(self.compare_mode_box.findData(state.mode))
            self.compare_a.setCurrentIndex(self.compare_a.findData(state.a))
            self.compare_b.setCurrentIndex(self.compare_b.findData(state.b))
            self.divider_slider.setValue(round(100 * state.divider))
            self.auto_box.setChecked(state.auto)
        finally:
            for widget in widgets:
                widget.blockSignals(False)
        self.divider_label.setText(f"{100 * state.divider:.0f} %")
        swiping, flickering = state.mode == SWIPE, state.mode == FLICKER
        for widget in (self.divider_slider, self.divider_label):
            widget.setVisible(swiping)
        for widget in (self.step_button, self.auto_box):
            widget.setVisible(flickering)
        for title, action in self.compare_actions.items():
            action.setEnabled(flickering if title.startswith("Flicker:") else swiping)
        if flickering and state.auto:
            if not self.flicker_timer.isActive():
                self.flicker_timer.start()
        else:
            self.flicker_timer.stop()

    def _draw_compare(self) -> None:
        """Show the compare view (or the grid when it is off) for the image on screen."""
        on = self.compare.active
        if not on:
            self.compare_view.set_linked(False)
        self.view_stack.setCurrentWidget(self.compare_view if on else self.panels)
        if on:
            self.compare_view.set_linked(True)
            self.compare_view.draw(
                self.compare,
                self.panels.images,
                self.panels.diffs,
                self.panels.titles,
                self.panels.diff_mode,
                self.panels.levels(),
                self.panels.overlays,
            )

    def _add_problem(self, message: str) -> None:
        if message not in self.problems:
            self.problems.append(message)
            self._update_banner()

    def _update_banner(self) -> None:
        self.banner.setText("<br>".join(f"⚠ {html.escape(p, quote=False)}" for p in self.problems))
        self.banner.setVisible(bool(self.problems))

    def pixel_report(self, x: int, y: int) -> str:
        """The values under the cursor: RGB per panel and each restoration's error vs clean there."""
        parts = [f"x {x}, y {y}"]
        clean = self.panels.images.get("clean")
        for key in self.panels.panels:
            image = self.panels.images.get(key)
            if image is None:
                continue
            pixel = image[y, x].astype(int)
            text = f"{label(key)} ({', '.join(str(v) for v in pixel)})"
            if key != "clean" and clean is not None:
                text += f" |err| {np.abs(pixel - clean[y, x].astype(int)).mean():.1f}"
            parts.append(text)
        return " · ".join(parts)

    def _hovered(self, x: int, y: int) -> None:
        if x >= 0:
            self._hover = (x, y)
            self._refresh_pixel()

    def _refresh_pixel(self) -> None:
        """Re-read the readout at the last pixel pointed at: after moving to another image
        with the keyboard it shows that image's values, not the previous one's."""
        shape = next((im.shape for im in self.panels.images.values() if im is not None), None)
        if self._hover is None or shape is None:
            return
        x, y = self._hover
        if 0 <= x < shape[1] and 0 <= y < shape[0]:
            self.pixel_label.setText(self.pixel_report(x, y))
        else:
            self._hover = None
            self.pixel_label.setText("Pixel values appear here under the cursor.")

    # -- provenance ------------------------------------------------------------------------
    def _build_about(self) -> None:
        """File -> About this run: plain, selectable text in a fixed-width font, as digests
        are compared and copied; kept current by every reload."""
        self.about = QDialog(self, windowTitle="About this run")
        self.about_text = QPlainTextEdit(readOnly=True)
        self.about_text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.about_text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.about.reject)
        layout = QVBoxLayout(self.about)
        layout.addWidget(self.about_text)
        layout.addWidget(buttons)
        self.about.resize(800, 560)

    def show_about(self) -> None:
        """What made the run's outputs, settings included (File -> About this run, Ctrl+I)."""
        self.about.show()
        self.about.raise_()

    def _about_text(self) -> str:
        return run_text(self.run) if self.run else "No run is open: the banner says why."

    # -- export ----------------------------------------------------------------------------
    def export_png(self, path: Path | str | None = None) -> Path | None:
        """Save the panels as they are on screen (titles, difference view and colour bar
        included); while comparing, the compare view."""
        if path is None:
            default = self.run_path / f"viewer_{self._current_name()}.png"
            path, _ = QFileDialog.getSaveFileName(
                self, "Export quadruplet", str(default), "PNG (*.png)"
            )
            if not path:
                return None
        if not self.view_stack.currentWidget().grab().save(str(path), "PNG"):
            self._add_problem(f"{path}: cannot write the PNG")
            return None
        return Path(path)

    def export_csv(self, path: Path | str | None = None) -> Path | None:
        """Save the table's visible rows in their visible order."""
        if path is None:
            default = self.run_path / "viewer_table.csv"
            path, _ = QFileDialog.getSaveFileName(self, "Export table", str(default), "CSV (*.csv)")
            if not path:
                return None
        try:
            self.table.write_csv(Path(path))
        except OSError as error:
            self._add_problem(f"{path}: cannot write the CSV ({error})")
            return None
        return Path(path)

    def _current_name(self) -> str:
        """The image's name made safe for a file name ('a/b<c>' -> 'a_b_c_')."""
        name = self.run.names[self.current] if self.run and self.current is not None else "none"
        return re.sub(r"[^\w.-]", "_", name)

    def closeEvent(self, event) -> None:
        if self.run:
            self.run.close()
        super().closeEvent(event)
