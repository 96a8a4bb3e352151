"""Moving through the images in the table's visible order (the arrows, Home, End)."""

from __future__ import annotations


class Navigation:
    """A part of :class:`viewer.window.ViewerWindow` (a mixin: it works on the window's widgets
    and state): the table's selection is the image on screen."""

    def go_to_row(self, row: int) -> None:
        """Select a visible table row (clamped); the selection shows its images."""
        self.table_view.select_row(row)

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

    def previous_image(self) -> None:
        self.step(-1)

    def next_image(self) -> None:
        self.step(1)

    def first_image(self) -> None:
        self.go_to_row(0)

    def last_image(self) -> None:
        self.go_to_row(self.table.rowCount() - 1)
