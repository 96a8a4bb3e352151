"""File -> About this run: what made the run's outputs, settings included."""

from __future__ import annotations

from PyQt6.QtGui import QFontDatabase
from PyQt6.QtWidgets import QDialog, QDialogButtonBox, QPlainTextEdit, QVBoxLayout, QWidget


def about_dialog(parent: QWidget) -> tuple[QDialog, QPlainTextEdit]:
    """The dialog and its text: plain, selectable text in a fixed-width font, as digests
    are compared and copied."""
    dialog = QDialog(parent, windowTitle="About this run")
    text = QPlainTextEdit(readOnly=True)
    text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(text)
    layout.addWidget(buttons)
    dialog.resize(800, 560)
    return dialog, text
