"""Showing one test image: each panel's image, title and mask overlay (what they are is
:mod:`viewer.panel_content`'s), fitting, the difference view and the pixel readout."""

from __future__ import annotations

import numpy as np

from viewer.panel_content import panel_overlays, panel_titles, read_images
from viewer.scores import label
from viewer.titles import Title


class ImageDisplay:
    """A part of :class:`viewer.window.ViewerWindow` (a mixin: it works on the window's widgets
    and state): the image on screen in the panels."""

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
        images, notes, problems = read_images(self.run, list(self.panels.panels), index)
        for problem in problems:
            self._add_problem(problem)
        self.panels.show_images(images, self._titles(index, images), notes)
        self._show_overlays(index)
        self._draw_compare()
        self._refresh_pixel()

    def _titles(self, index: int, images: dict[str, np.ndarray | None]) -> dict[str, Title]:
        keys, table = list(self.panels.panels), self.table
        return panel_titles(
            self.run, keys, index, images, table.mask_share, table.metric, self.mask_mode
        )

    def _show_overlays(self, index: int) -> None:
        """Each panel's mask overlay of image ``index`` in the mode on; a mask that cannot be
        read is named in the banner."""
        overlays, problems = panel_overlays(
            self.run, list(self.panels.panels), index, self.mask_mode
        )
        for problem in problems:
            self._add_problem(problem)
        self.panels.show_overlays(overlays)

    def _retitle(self) -> None:
        """Titles again for the image on screen, without re-reading it."""
        if self.run is None or self.current is None:
            return
        self.panels.set_titles(self._titles(self.current, self.panels.images))
        self._draw_compare()

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
