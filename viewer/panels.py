"""Image panels with linked pan/zoom, and the difference heatmap with its colour bar.

One ViewBox per panel, all X/Y-linked to the first, so zooming into a face in one
panel shows the same region everywhere. Each panel holds two ImageItems — the RGB
image and the per-pixel error heatmap — and the difference toggle only swaps which
one is visible, so toggling never re-reads the files.

Until the user pans or zooms, the images are fitted to their panels (top-aligned,
right under their titles) and refitted whenever the panels change size; after a pan
or zoom the view is kept until :meth:`PanelGrid.fit`.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QPointF, Qt, pyqtSignal
from PyQt6.QtGui import QFont, QFontMetricsF

# Black text (titles, colour-bar ticks and label) on the white background.
pg.setConfigOptions(imageAxisOrder="row-major", antialias=False, foreground="k")

ERROR_LABEL = "|error| vs clean (mean over RGB)"
TEXT_COLOUR = "#000"
BAD_COLOUR = "#c00"  # a score its metric cannot take
BAR_WIDTH = 25
TICK_AXIS_WIDTH = 45  # pyqtgraph's width for the colour bar's tick values
TITLE_POINTS = 9
TITLE_MARGIN = 10  # px: the title's text document margins and a little air


def _escaped(text: str) -> str:
    return html.escape(text, quote=False)


@dataclass
class Title:
    """A panel title as plain text: the bold ``name``, an optional ``note`` after it, then
    ``items`` (one per score) wrapped to the panel's width; items listed in ``bad`` are red.
    Kept plain until drawn, so any name shows literally ('<b>', '&', '$x^2$' as typed)."""

    name: str
    note: str = ""
    items: list[str] = field(default_factory=list)
    bad: set[int] = field(default_factory=set)

    def lines(self, width: float, fonts: tuple[QFontMetricsF, QFontMetricsF]) -> list[str]:
        """HTML lines, each at most ``width`` px wide (an item wider than that is elided)."""
        plain, bold = fonts
        separator = plain.horizontalAdvance(" · ")

        def fit(text: str, metrics: QFontMetricsF, room: float) -> str:
            return metrics.elidedText(text, Qt.TextElideMode.ElideMiddle, max(room, 10))

        note = f" {self.note}" if self.note else ""
        name = fit(self.name, bold, width - plain.horizontalAdvance(note))
        used = bold.horizontalAdvance(name) + plain.horizontalAdvance(note)
        lines, line = [], [f"<b>{_escaped(name)}</b>{_escaped(note)}"]
        first = True  # the first item follows the name after a wider gap
        for i, item in enumerate(self.items):
            gap = plain.horizontalAdvance("  ") if first else separator
            shown = fit(item, plain, width)
            size = plain.horizontalAdvance(shown)
            piece = _escaped(shown)
            if i in self.bad:
                piece = f"<span style='color:{BAD_COLOUR}'>{piece}</span>"
            if used + gap + size <= width:
                line.append(("&nbsp; " if first else " · ") + piece)
                used += gap + size
            else:
                lines.append("".join(line))
                line, used = [piece], size
            first = False
        lines.append("".join(line))
        return lines


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
        self._colorbar_width = 0
        self._zoomed = False  # the user panned or zoomed: keep their view until fit()
        self.titles: dict[str, Title] = {}
        font = QFont(self.font())
        font.setPointSizeF(TITLE_POINTS)
        bold = QFont(font)
        bold.setBold(True)
        self._title_fonts = (QFontMetricsF(font), QFontMetricsF(bold))
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
            view.sigResized.connect(self._view_resized)
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

    def _make_colorbar(self) -> pg.ColorBarItem:
        """The shared colour scale: black ticks and label beside the gradient, never on it,
        in a column wide enough for both."""
        bar = pg.ColorBarItem(
            values=(0, 255), width=BAR_WIDTH, colorMap="inferno", interactive=True
        )
        pen = pg.mkPen(TEXT_COLOUR)
        for name in ("left", "right", "top", "bottom"):
            axis = bar.getAxis(name)
            axis.setPen(pen)
            axis.setTextPen(pen)
        bar.axis.setStyle(tickTextOffset=4)
        bar.getAxis("left").setLabel(ERROR_LABEL, color=TEXT_COLOUR)
        # Label axis + gradient + tick axis: a narrower column would clip the tick values.
        self._colorbar_width = int(np.ceil(bar.minimumWidth())) + 6
        return bar

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
            key: self.titles.get(key, Title(key)).lines(width, self._title_fonts)
            for key in self.panels
        }
        count = max(len(v) for v in lines.values())
        height = int(np.ceil(count * self._title_fonts[0].lineSpacing())) + TITLE_MARGIN
        for key, panel in self.panels.items():
            label = panel.plot.titleLabel
            label.setVisible(True)
            label.setText("<br>".join(lines[key]), size=f"{TITLE_POINTS}pt")
            label.setMinimumWidth(0)  # never widen a column: the lines already fit
            label.setMaximumHeight(height)
            panel.plot.layout.setRowFixedHeight(0, height)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if getattr(self, "panels", None):  # pyqtgraph resizes once while constructing
            self._fit_columns()  # the views' own resize then refits (_view_resized)

    def _zoomed_by_user(self, *_args) -> None:
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
        height, width = self._shape
        view = next(iter(self.panels.values())).view
        pixels_x, pixels_y = view.width(), view.height()
        if pixels_x < 1 or pixels_y < 1:
            self.set_range((0, width), (0, height))
            return
        # The range that fills the view at the image's scale, with the image at the top:
        # (aspect-locked views otherwise centre it, far from a one-row title).
        scale = min(pixels_x / width, pixels_y / height)
        span_x, span_y = pixels_x / scale, pixels_y / scale
        left = (width - span_x) / 2
        self.set_range((left, left + span_x), (0, span_y))

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
        self.titles = titles
        self._draw_titles()
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
        if self.colorbar is not None and self.colorbar.isVisible() != self.diff_mode:
            self.colorbar.setVisible(self.diff_mode)
            if self.diff_mode:
                # pyqtgraph sizes an axis to 0 when it changes while hidden (as the levels
                # do while the view is off): size both again, or the tick values are cut.
                self.colorbar.axis.setWidth(TICK_AXIS_WIDTH)
                self.colorbar.getAxis("left").showLabel(True)

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
