"""Image panels with linked pan/zoom, and the difference heatmap with its colour bar.

One ViewBox per panel, all X/Y-linked to the first, so zooming into a face in one
panel shows the same region everywhere. Each panel holds two ImageItems — the RGB
image and the per-pixel error heatmap — and the difference toggle only swaps which
one is visible, so toggling never re-reads the files.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QPointF, pyqtSignal

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)

ERROR_LABEL = "|error| vs clean (mean over RGB)"
COLORBAR_WIDTH = 80


def abs_error(image: np.ndarray, clean: np.ndarray) -> np.ndarray:
    """Per-pixel mean absolute error over RGB, in uint8 units (0-255)."""
    d = np.abs(image.astype(np.int16) - clean.astype(np.int16))
    # Adding the channels by hand is several times faster than a reduction over a length-3 axis.
    return (d[..., 0] + d[..., 1] + d[..., 2]).astype(np.float32) / 3


@dataclass
class Panel:
    key: str
    plot: pg.PlotItem
    rgb: pg.ImageItem
    diff: pg.ImageItem
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

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground("w")
        self.panels: dict[str, Panel] = {}
        self.images: dict[str, np.ndarray | None] = {}
        self.diffs: dict[str, np.ndarray] = {}
        self.diff_mode = False
        self.colorbar: pg.ColorBarItem | None = None
        self._shape: tuple[int, int] | None = None
        self._columns = 2
        self._zoomed = False  # the user panned or zoomed: keep their view on resize
        self.scene().sigMouseMoved.connect(self._mouse_moved)

    def set_panels(self, keys: list[str]) -> None:
        """Rebuild the grid for these panels, keeping the current zoom."""
        if [p for p in self.panels] == keys:
            return
        view_range = next(iter(self.panels.values())).view.viewRange() if self.panels else None
        self.clear()
        self.panels = {}
        columns = self._columns = 2 if len(keys) <= 4 else 3
        for i, key in enumerate(keys):
            plot = self.addPlot(row=i // columns, col=i % columns)
            for axis in ("left", "bottom"):
                plot.hideAxis(axis)
            plot.setMenuEnabled(False)
            plot.hideButtons()
            view = plot.getViewBox()
            view.setAspectLocked(True)
            view.invertY(True)
            view.sigRangeChangedManually.connect(self._zoomed_by_user)
            rgb, diff = pg.ImageItem(), pg.ImageItem()
            diff.setVisible(False)
            note = pg.TextItem(color="#a00", anchor=(0.5, 0.5))
            for item in (rgb, diff, note):
                plot.addItem(item)
            if self.panels:
                first = next(iter(self.panels.values())).view
                view.setXLink(first)
                view.setYLink(first)
            self.panels[key] = Panel(key, plot, rgb, diff, note)
        rows = (len(keys) + columns - 1) // columns
        self.colorbar = pg.ColorBarItem(
            values=(0, 255), colorMap="inferno", label=ERROR_LABEL, interactive=True
        )
        self.colorbar.setImageItem([p.diff for p in self.panels.values()])
        self.addItem(self.colorbar, row=0, col=columns, rowspan=rows)
        self.colorbar.setVisible(self.diff_mode)
        self._fit_columns()
        if view_range and self._shape:
            self.set_range(*view_range)
        else:
            self._shape = None  # the next images set the range

    def _fit_columns(self) -> None:
        """Give every panel the same width: linked views with locked aspect need equal sizes,
        and title lengths would otherwise make the columns differ."""
        layout = self.ci.layout
        spacing = layout.horizontalSpacing() * self._columns
        left, _top, right, _bottom = layout.getContentsMargins()
        free = self.width() - COLORBAR_WIDTH - spacing - left - right - 4
        for column in range(self._columns):
            layout.setColumnFixedWidth(column, max(free / self._columns, 50))
        layout.setColumnFixedWidth(self._columns, COLORBAR_WIDTH)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if getattr(self, "panels", None):  # pyqtgraph resizes once while constructing
            self._fit_columns()
            if self._shape and not self._zoomed:
                self.set_range((0, self._shape[1]), (0, self._shape[0]))

    def _zoomed_by_user(self, *_args) -> None:
        self._zoomed = True

    def set_range(self, x: tuple[float, float], y: tuple[float, float]) -> None:
        next(iter(self.panels.values())).view.setRange(xRange=x, yRange=y, padding=0)

    def show_images(
        self, images: dict[str, np.ndarray | None], titles: dict[str, str], notes: dict[str, str]
    ) -> None:
        """Show one image per panel (None: the note instead) with its title."""
        self.images = images
        shape = next((im.shape[:2] for im in images.values() if im is not None), None)
        for key, panel in self.panels.items():
            image = images.get(key)
            panel.plot.setTitle(titles.get(key, key), size="9pt")
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
            self._shape, self._zoomed = shape, False
            self.set_range((0, shape[1]), (0, shape[0]))

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
            self.colorbar.setVisible(self.diff_mode)

    def levels(self) -> tuple[float, float]:
        """The shared colour scale of the difference heatmaps."""
        return tuple(self.colorbar.levels()) if self.colorbar else (0.0, 255.0)

    def _mouse_moved(self, pos: QPointF) -> None:
        for panel in self.panels.values():
            if panel.view.sceneBoundingRect().contains(pos) and self._shape:
                point = panel.view.mapSceneToView(pos)
                x, y = int(np.floor(point.x())), int(np.floor(point.y()))
                if 0 <= x < self._shape[1] and 0 <= y < self._shape[0]:
                    self.pixelHovered.emit(x, y)
                    return
        self.pixelHovered.emit(-1, -1)
