"""The mask overlay's controls (M): the button beside Fit and the View menu's modes; the
rules of what each panel shows are :mod:`viewer.overlay`'s."""

from __future__ import annotations

from PyQt6.QtGui import QAction, QActionGroup
from PyQt6.QtWidgets import QToolButton

from viewer.overlay import MODE_NAMES, TRUE, mask_kind, next_mode
from viewer.overlay import MODES as MASK_MODES
from viewer.runfiles import CLEAN


class MaskControls:
    """A part of :class:`viewer.window.ViewerWindow` (a mixin: it works on the window's widgets
    and state): the overlay's button, menu and mode."""

    def _mask_button(self) -> QToolButton:
        """Narrow (the panel boxes share its row): a click cycles like M, the arrow opens the
        modes, the text says the one on."""
        button = QToolButton()
        button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        button.setToolTip(
            "Damage mask over the panels (M or a click cycles; the arrow lists the modes): "
            "'true' the dataset's in magenta; 'found' in cyan the damage each model found "
            "itself, where its predictions store it"
        )
        button.clicked.connect(self.cycle_mask)
        return button

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

    def _mask_action_chosen(self, action: QAction) -> None:
        self.set_mask_mode(action.data())

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

    def set_mask_mode(self, mode: str) -> None:
        """'off', 'true' or 'found' (the same as the button, the menu and M; see
        viewer.overlay)."""
        mask_kind(mode, CLEAN, False)  # a ValueError for an unknown mode
        self.mask_mode = mode
        self.mask_actions[mode].setChecked(True)
        self._show_mask_mode()
        if self.run is not None and self.current is not None:
            self._show_overlays(self.current)
        self._retitle()  # the found overlay's notes

    def cycle_mask(self) -> None:
        """M: off -> true -> found -> off."""
        self.set_mask_mode(next_mode(self.mask_mode))
