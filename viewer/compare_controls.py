"""The compare controls (C): the mode, panels A and B, the swipe's divider, the flicker's
step and auto; they and the compare view show the window's :class:`~viewer.compare.CompareState`.
"""

from __future__ import annotations

from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QToolButton,
)

from viewer.compare import FLICKER, FLICKER_MS, MODES, OFF, SWIPE
from viewer.scores import label


def panel_name(key: str) -> str:
    """How a panel is named in the compare choices: 'damaged input', 'clean', 'GAN'."""
    return {"damaged": "damaged input", "clean": "clean"}.get(key) or label(key)


class CompareControls:
    """A part of :class:`viewer.window.ViewerWindow` (a mixin: it works on the window's widgets
    and state): the compare bar, its slots and the compare view."""

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
        # The flicker: each tick shows the other of A and B.
        self.flicker_timer = QTimer(self, interval=FLICKER_MS)
        self.flicker_timer.timeout.connect(self.flick)
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

    def _compare_mode_chosen(self, i: int) -> None:
        self.set_compare_mode(self.compare_mode_box.itemData(i))

    def _compare_a_chosen(self, i: int) -> None:
        self.set_compare_pair(self.compare_a.itemData(i), None)

    def _compare_b_chosen(self, i: int) -> None:
        self.set_compare_pair(None, self.compare_b.itemData(i))

    def _slider_moved(self, value: int) -> None:
        self.set_divider(value / 100)

    def divider_left(self) -> None:
        self.nudge_divider(-1)

    def divider_right(self) -> None:
        self.nudge_divider(1)

    def _fill_compare_choices(self) -> None:
        """A and B choose among the panels on screen."""
        self.compare.fit_to(list(self.panels.panels))
        for box in (self.compare_a, self.compare_b):
            box.clear()
            for key in self.panels.panels:
                box.addItem(panel_name(key), key)
        self._sync_compare_controls()

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
