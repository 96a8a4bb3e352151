"""The main window: image panels, the score table with its filters, the summary, exports.

The window owns one open :class:`~viewer.runfiles.Run` at a time. Every file
problem ends up in the red banner at the top rather than in an exception, and
when the run's files change on disk (Snakemake deletes and rewrites them) the run
is re-opened after a short quiet period, keeping the image that was on screen.

Each part of the window is a mixin in a module of its own: the model boxes and the
panels they choose (:mod:`viewer.model_panels`), the image on screen
(:mod:`viewer.image_display`), the compare controls (:mod:`viewer.compare_controls`; the
compare view, a swipe or a flicker of two panels, takes the panel grid's place while it is
on), the mask overlay's (:mod:`viewer.mask_controls`), the table pane
(:mod:`viewer.table_pane`), moving through the images (:mod:`viewer.navigation`) and the
exports (:mod:`viewer.exports`). This module puts them together, with the menus, the
loading and the banner. What made each output (its provenance record) is in the model
boxes' tooltips and, with the settings, in *File → About this run*; the text is
:mod:`viewer.about`'s.
"""

from __future__ import annotations

import html
from pathlib import Path

from PyQt6.QtCore import QFileSystemWatcher, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from viewer.about import run_text
from viewer.about_dialog import about_dialog
from viewer.compare import CompareState
from viewer.compare_controls import CompareControls
from viewer.compare_view import CompareView
from viewer.exports import Exports
from viewer.image_display import ImageDisplay
from viewer.mask_controls import MaskControls
from viewer.model_panels import ModelPanels
from viewer.navigation import Navigation
from viewer.overlay import OFF as MASK_OFF
from viewer.panels import PanelGrid
from viewer.runfiles import Run, RunError
from viewer.table_pane import TablePane

RELOAD_DELAY_MS = 500


class _Splitter(QSplitter):
    """A QSplitter that says when it has its new size (a window's resize comes before)."""

    resized = pyqtSignal()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.resized.emit()


class ViewerWindow(
    ModelPanels,
    ImageDisplay,
    CompareControls,
    MaskControls,
    TablePane,
    Navigation,
    Exports,
    QMainWindow,
):
    """The window of one run: the panels with their controls on the left, the table pane
    on the right, the banner above them; each part is one of the mixins."""

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
        self.reload()

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
        self.mask_button = self._mask_button()

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

        right = self._table_pane()

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
        self.about, self.about_text = about_dialog(self)
        self.resize(1500, 900)

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
        self.table_view.fit_columns()
        self._show_summary()
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

    def _add_problem(self, message: str) -> None:
        if message not in self.problems:
            self.problems.append(message)
            self._update_banner()

    def _update_banner(self) -> None:
        self.banner.setText("<br>".join(f"⚠ {html.escape(p, quote=False)}" for p in self.problems))
        self.banner.setVisible(bool(self.problems))

    def show_about(self) -> None:
        """What made the run's outputs, settings included (File -> About this run, Ctrl+I)."""
        self.about.show()
        self.about.raise_()

    def _about_text(self) -> str:
        return run_text(self.run) if self.run else "No run is open: the banner says why."

    def closeEvent(self, event) -> None:
        if self.run:
            self.run.close()
        super().closeEvent(event)
