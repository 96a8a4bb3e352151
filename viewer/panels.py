"""The grid of image panels: one linked ViewBox per panel, and the difference heatmap.

One ViewBox per panel, all X/Y-linked to the first, so zooming into a face in one
panel shows the same region everywhere. Each panel holds two ImageItems — the RGB
image and the per-pixel error heatmap — and the difference toggle only swaps which
one is visible, so toggling never re-reads the files. A third ImageItem above them,
in the same view, draws a damage mask through a colour table with transparency
(:mod:`viewer.overlay`), on the image and on the heatmap alike.

Until the user pans or zooms, the images are fitted to their panels (top-aligned,
right under their titles) and refitted whenever the panels change size; after a pan
or zoom the view is kept until :meth:`PanelGrid.fit`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QPointF, pyqtSignal

from viewer.image_plot import (
    TITLE_MARGIN,
    RegionViewBox,
    abs_error,
    fitted_range,
    image_plot,
    make_colorbar,
    pixel_at,
    show_colorbar,
    show_overlay,
    show_title,
    title_fonts,
    title_height,
    title_lines,
)
from viewer.overlay import Overlay
from viewer.titles import Title


@dataclass
class Panel:
    key: str
    plot: pg.PlotItem
    rgb: pg.ImageItem
    diff: pg.ImageItem
    mask: pg.ImageItem
    note: pg.TextItem

    @property
    def view(self) -> pg.ViewBox:
        return self.plot.getViewBox()


class PanelGrid(pg.GraphicsLayoutWidget):
    """A grid of image panels keyed by 'damaged', 'clean' or a model name.

    ``pixelHovered(x, y)`` is emitted with image coordinates when the cursor is over
    a panel, and (-1, -1) when it leaves the images.
    """

    pixelHovered = pyqtSignal(int, int)
    rebuilt = pyqtSignal()  # new panels (and a new first ViewBox to link to)
    levelsChanged = pyqtSignal()  # the user dragged the colour bar

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground("w")
        self.panels: dict[str, Panel] = {}
        self.images: dict[str, np.ndarray | None] = {}
        self.diffs: dict[str, np.ndarray] = {}
        self.overlays: dict[str, Overlay | None] = {}
        self.diff_mode = False
        self.colorbar: pg.ColorBarItem | None = None
        self._shape: tuple[int, int] | None = None
        self._columns = 2
        self._colorbar_width = 0
        self._zoomed = False  # the user panned or zoomed: keep their view until fit()
        self.titles: dict[str, Title] = {}
        self._title_fonts = title_fonts(self)
        self.scene().sigMouseMoved.connect(self._mouse_moved)

    def set_panels(self, keys: list[str]) -> None:
        """Rebuild the grid for these panels, keeping the current zoom."""
        if [p for p in self.panels] == keys:
            return
        # The region asked for (the target range), not the one shown: new panels of another
        # shape show it whole, and a rebuild never widens it.
        view_range = self.first_view.targetRange() if self.panels else None
        self.clear()
        self.panels = {}
        columns = self._columns = 2 if len(keys) <= 4 else 3
        for i, key in enumerate(keys):
            plot = self.addPlot(row=i // columns, col=i % columns, viewBox=RegionViewBox())
            view = image_plot(plot)
            view.sigRangeChangedManually.connect(self._zoomed_by_user)
            view.sigResized.connect(self._view_resized)
            rgb, diff, mask = pg.ImageItem(), pg.ImageItem(), pg.ImageItem()
            diff.setVisible(False)
            mask.setVisible(False)
            note = pg.TextItem(color="#a00", anchor=(0.5, 0.5))
            for item in (rgb, diff, mask, note):  # drawn in this order: the mask over the image
                plot.addItem(item)
            if self.panels:
                first = next(iter(self.panels.values())).view
                view.setXLink(first)
                view.setYLink(first)
            self.panels[key] = Panel(key, plot, rgb, diff, mask, note)
        rows = (len(keys) + columns - 1) // columns
        self.colorbar = self._make_colorbar()
        self.colorbar.setImageItem([p.diff for p in self.panels.values()])
        self.addItem(self.colorbar, row=0, col=columns, rowspan=rows)
        self.colorbar.setVisible(self.diff_mode)
        self._fit_columns()
        if view_range and self._shape and self._zoomed:
            self.set_range(*view_range)
        elif self._shape:
            self.fit()
        else:
            self._shape = None  # the next images set the range
        self.rebuilt.emit()

    def _make_colorbar(self) -> pg.ColorBarItem:
        """The shared colour scale, in a column wide enough for its ticks and label."""
        bar, self._colorbar_width = make_colorbar()
        bar.sigLevelsChanged.connect(self._bar_dragged)
        return bar

    def _bar_dragged(self, _bar=None) -> None:
        self.levelsChanged.emit()

    @property
    def first_view(self) -> pg.ViewBox | None:
        """The ViewBox every panel is linked to (None without panels)."""
        return next(iter(self.panels.values())).view if self.panels else None

    def _fit_columns(self) -> None:
        """Give every panel the same width: linked views with locked aspect need equal sizes,
        and title lengths would otherwise make the columns differ."""
        layout = self.ci.layout
        spacing = layout.horizontalSpacing() * self._columns
        left, _top, right, _bottom = layout.getContentsMargins()
        free = self.width() - self._colorbar_width - spacing - left - right - 4
        for column in range(self._columns):
            layout.setColumnFixedWidth(column, max(free / self._columns, 50))
        layout.setColumnFixedWidth(self._columns, self._colorbar_width)
        self._draw_titles()

    def _column_width(self) -> float:
        layout = self.ci.layout
        return layout.columnMaximumWidth(0) if self._columns else 0.0

    def _draw_titles(self) -> None:
        """Wrap every title to the column width; all get the height of the tallest, so the
        images of one row start at the same height, right under their titles."""
        if not self.panels:
            return
        width = max(self._column_width() - TITLE_MARGIN, 40)
        lines = {
            key: title_lines(self.titles.get(key, Title(key)), width, self._title_fonts)
            for key in self.panels
        }
        height = title_height(max(len(v) for v in lines.values()), self._title_fonts)
        for key, panel in self.panels.items():
            show_title(panel.plot, lines[key], height)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if getattr(self, "panels", None):  # pyqtgraph resizes once while constructing
            self._fit_columns()  # the views' own resize then refits (_view_resized)

    def _zoomed_by_user(self, *_args) -> None:
        self._zoomed = True

    def mark_zoomed(self, *_args) -> None:
        """The user panned or zoomed a view linked to the panels (the compare view)."""
        self._zoomed = True

    @property
    def zoomed(self) -> bool:
        """Whether the user panned or zoomed since the last fit."""
        return self._zoomed

    def _view_resized(self, _view=None) -> None:
        # The ViewBox has its new size only now, after the layout settled: refit here,
        # not in resizeEvent, or a shrunk window keeps images sized for the old one.
        if self._shape and not self._zoomed:
            self.fit()

    def fit(self) -> None:
        """Show the whole image in every panel, as large as fits, right under its title,
        and forget the user's zoom."""
        self._zoomed = False
        if not self._shape or not self.panels:
            return
        self.set_range(*fitted_range(self.first_view, self._shape))

    def set_range(self, x: tuple[float, float], y: tuple[float, float]) -> None:
        next(iter(self.panels.values())).view.setRange(xRange=x, yRange=y, padding=0)

    def show_images(
        self,
        images: dict[str, np.ndarray | None],
        titles: dict[str, Title],
        notes: dict[str, str],
    ) -> None:
        """Show one image per panel (None: the note instead) with its title."""
        self.images = images
        self.set_titles(titles)
        shape = next((im.shape[:2] for im in images.values() if im is not None), None)
        for key, panel in self.panels.items():
            image = images.get(key)
            if image is not None:
                # No levels: uint8 RGB goes to the screen without a rescaling pass.
                panel.rgb.setImage(image, autoLevels=False)
            panel.note.setText("" if image is not None else notes.get(key, "not available"))
            if shape:
                panel.note.setPos(shape[1] / 2, shape[0] / 2)
        self.diffs = {}
        if self.diff_mode:
            self._show_diffs()
        self._update_visibility()
        if shape and shape != self._shape:
            self._shape = shape
            self.fit()
        elif shape and not self._zoomed:
            self.fit()

    def set_titles(self, titles: dict[str, Title]) -> None:
        """New titles for the images on screen (another metric chosen, another overlay)."""
        self.titles = titles
        self._draw_titles()

    def show_overlays(self, overlays: dict[str, Overlay | None]) -> None:
        """Draw each panel's mask over its image (None or absent: no overlay); a panel
        without an image shows none."""
        self.overlays = {key: overlays.get(key) for key in self.panels}
        for key, panel in self.panels.items():
            overlay = self.overlays[key] if self.images.get(key) is not None else None
            show_overlay(panel.mask, overlay)

    def _show_diffs(self) -> None:
        """Heatmaps of every restoration's error, computed only while the difference view is on."""
        clean = self.images.get("clean")
        self.diffs = {
            key: abs_error(image, clean)
            for key, image in self.images.items()
            if key != "clean" and key in self.panels and image is not None and clean is not None
        }
        for key, diff in self.diffs.items():
            self.panels[key].diff.setImage(diff, autoLevels=False)
        if self.colorbar is not None:
            top = max((float(d.max()) for d in self.diffs.values()), default=0.0)
            self.colorbar.setLevels((0.0, max(1.0, float(np.ceil(top)))))

    def set_diff_mode(self, on: bool) -> None:
        self.diff_mode = on
        if on and not self.diffs:
            self._show_diffs()
        self._update_visibility()

    def _update_visibility(self) -> None:
        for key, panel in self.panels.items():
            has_image = self.images.get(key) is not None
            show_diff = self.diff_mode and key in self.diffs
            panel.rgb.setVisible(has_image and not show_diff)
            panel.diff.setVisible(show_diff)
        if self.colorbar is not None:
            show_colorbar(self.colorbar, self.diff_mode)

    def levels(self) -> tuple[float, float]:
        """The shared colour scale of the difference heatmaps."""
        return tuple(self.colorbar.levels()) if self.colorbar else (0.0, 255.0)

    def set_levels(self, levels: tuple[float, float]) -> None:
        if self.colorbar is not None and tuple(self.colorbar.levels()) != tuple(levels):
            self.colorbar.setLevels(tuple(levels))

    def _mouse_moved(self, pos: QPointF) -> None:
        for panel in self.panels.values():
            if (pixel := pixel_at(panel.view, pos, self._shape)) is not None:
                self.pixelHovered.emit(*pixel)
                return
        self.pixelHovered.emit(-1, -1)
