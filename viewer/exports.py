"""File -> Export: the panels as a PNG, the table's visible rows as a CSV."""

from __future__ import annotations

import re
from pathlib import Path

from PyQt6.QtWidgets import QFileDialog


class Exports:
    """A part of :class:`viewer.window.ViewerWindow` (a mixin: it works on the window's widgets
    and state): its exports; a file that cannot be written goes to the banner."""

    def _export_png_chosen(self) -> None:
        self.export_png()

    def _export_csv_chosen(self) -> None:
        self.export_csv()

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
