"""The pyqtgraph pieces an image view is made of, shared by the panel grid and the compare
view: an image plot with square pixels, the ViewBox links that show one image region,
the fit of a whole image, the mask layer, the difference heatmap's colour bar, and the
titles wrapped to a plot's width.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QPointF, Qt
from PyQt6.QtGui import QFont, QFontMetricsF

from viewer.overlay import Overlay, lookup_table
from viewer.titles import Title

# Black text (titles, colour-bar ticks and label) on the white background.
pg.setConfigOptions(imageAxisOrder="row-major", antialias=False, foreground="k")

ERROR_LABEL = "|error| vs clean (mean over RGB)"
TEXT_COLOUR = "#000"
BAD_COLOUR = "#c00"  # a score its metric cannot take
BAR_WIDTH = 25
TICK_AXIS_WIDTH = 45  # pyqtgraph's width for the colour bar's tick values
TITLE_POINTS = 9
TITLE_MARGIN = 10  # px: the title's text document margins and a little air

Fonts = tuple[QFontMetricsF, QFontMetricsF]


def _escaped(text: str) -> str:
    return html.escape(text, quote=False)


def title_lines(title: Title, width: float, fonts: Fonts) -> list[str]:
    """``title`` as HTML lines, each at most ``width`` px wide (an item wider than that is
    elided)."""
    plain, bold = fonts
    separator = plain.horizontalAdvance(" · ")

    def fit(text: str, metrics: QFontMetricsF, room: float) -> str:
        return metrics.elidedText(text, Qt.TextElideMode.ElideMiddle, max(room, 10))

    note = f" {title.note}" if title.note else ""
    name = fit(title.name, bold, width - plain.horizontalAdvance(note))
    used = bold.horizontalAdvance(name) + plain.horizontalAdvance(note)
    lines, line = [], [f"<b>{_escaped(name)}</b>{_escaped(note)}"]
    first = True  # the first item follows the name after a wider gap
    for i, item in enumerate(title.items):
        gap = plain.horizontalAdvance("  ") if first else separator
        shown = fit(item, plain, width)
        size = plain.horizontalAdvance(shown)
        piece = _escaped(shown)
        if i in title.bad:
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


def title_fonts(widget) -> Fonts:
    """The plain and bold metrics titles are wrapped with."""
    font = QFont(widget.font())
    font.setPointSizeF(TITLE_POINTS)
    bold = QFont(font)
    bold.setBold(True)
    return QFontMetricsF(font), QFontMetricsF(bold)


def title_height(lines: int, fonts: Fonts) -> int:
    """Pixels a title of ``lines`` lines takes."""
    return int(np.ceil(lines * fonts[0].lineSpacing())) + TITLE_MARGIN


def show_title(plot: pg.PlotItem, lines: list[str], height: int) -> None:
    """Set ``plot``'s title to ``lines``, in a title row ``height`` px tall."""
    label = plot.titleLabel
    label.setVisible(True)
    label.setText("<br>".join(lines), size=f"{TITLE_POINTS}pt")
    label.setMinimumWidth(0)  # never widen a column: the lines already fit
    label.setMaximumHeight(height)
    plot.layout.setRowFixedHeight(0, height)


def abs_error(image: np.ndarray, clean: np.ndarray) -> np.ndarray:
    """Per-pixel mean absolute error over RGB, in uint8 units (0-255)."""
    d = np.abs(image.astype(np.int16) - clean.astype(np.int16))
    # Adding the channels by hand is several times faster than a reduction over a length-3 axis.
    return (d[..., 0] + d[..., 1] + d[..., 2]).astype(np.float32) / 3


def make_colorbar() -> tuple[pg.ColorBarItem, int]:
    """The colour scale of the heatmaps: black ticks and label beside the gradient, never on
    it; and the width of a column wide enough for both."""
    bar = pg.ColorBarItem(values=(0, 255), width=BAR_WIDTH, colorMap="inferno", interactive=True)
    pen = pg.mkPen(TEXT_COLOUR)
    for name in ("left", "right", "top", "bottom"):
        axis = bar.getAxis(name)
        axis.setPen(pen)
        axis.setTextPen(pen)
    bar.axis.setStyle(tickTextOffset=4)
    bar.getAxis("left").setLabel(ERROR_LABEL, color=TEXT_COLOUR)
    # Label axis + gradient + tick axis: a narrower column would clip the tick values.
    return bar, int(np.ceil(bar.minimumWidth())) + 6


def show_colorbar(bar: pg.ColorBarItem, on: bool) -> None:
    if bar.isVisible() == on:
        return
    bar.setVisible(on)
    if on:
        # pyqtgraph sizes an axis to 0 when it changes while hidden (as the levels
        # do while the view is off): size both again, or the tick values are cut.
        bar.axis.setWidth(TICK_AXIS_WIDTH)
        bar.getAxis("left").showLabel(True)


def fitted_range(
    view: pg.ViewBox, shape: tuple[int, int]
) -> tuple[tuple[float, float], tuple[float, float]]:
    """The range that shows the whole image in ``view``, as large as fits, at the top
    (an aspect-locked view would otherwise centre it, far from a one-row title)."""
    height, width = shape
    pixels_x, pixels_y = view.width(), view.height()
    if pixels_x < 1 or pixels_y < 1:
        return (0, width), (0, height)
    scale = min(pixels_x / width, pixels_y / height)
    span_x, span_y = pixels_x / scale, pixels_y / scale
    left = (width - span_x) / 2
    return (left, left + span_x), (0, span_y)


def pixel_at(view: pg.ViewBox, pos: QPointF, shape: tuple[int, int] | None):
    """The image pixel (x, y) under scene position ``pos`` in ``view``, or None."""
    if not shape or not view.sceneBoundingRect().contains(pos):
        return None
    point = view.mapSceneToView(pos)
    x, y = int(np.floor(point.x())), int(np.floor(point.y()))
    return (x, y) if 0 <= x < shape[1] and 0 <= y < shape[0] else None


class RegionViewBox(pg.ViewBox):
    """A ViewBox whose links show the linked view's image region, whatever the two views'
    sizes, shapes and places on screen.

    The region is the linked view's target range: the rectangle asked for (by a fit, a
    pan, a zoom), which an aspect-locked view widens along one axis to its own shape.
    Each linked view takes that rectangle whole, both axes at once, and widens it to its
    own shape, so every view shows all of it, centred alike, and the views never drift
    apart by copying each other's widened ranges back and forth.

    pyqtgraph lines overlapping linked views up pixel for pixel instead (the large compare
    view, on the same spot as the panel grid, would show the small panels' scale), and it
    copies one axis at a time, keeping the last one exact: a view of another shape than
    the linked one (a panel whose title takes more lines) then shows less than the region
    along the other axis.
    """

    def linkedViewChanged(self, view, axis) -> None:
        if self.linksBlocked or view is None:
            return
        (x0, x1), (y0, y1) = view.targetRange()
        # Both axes when both follow ``view`` (the panels and the compare view do): the
        # aspect lock then widens whichever the region needs, never narrows one.
        x = (x0, x1) if axis == pg.ViewBox.XAxis or self.linkedView(0) is view else None
        y = (y0, y1) if axis == pg.ViewBox.YAxis or self.linkedView(1) is view else None
        view.blockLink(True)
        try:
            for index, shown in ((0, x), (1, y)):
                if shown is not None:
                    self.enableAutoRange(index, False)
            self.setRange(xRange=x, yRange=y, padding=0)
        finally:
            view.blockLink(False)


def image_plot(plot: pg.PlotItem) -> pg.ViewBox:
    """An image panel's plot: no axes, menu or buttons; square pixels, row 0 at the top."""
    for axis in ("left", "bottom"):
        plot.hideAxis(axis)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    view = plot.getViewBox()
    view.setAspectLocked(True)
    view.invertY(True)
    return view


def show_overlay(item: pg.ImageItem, overlay: Overlay | None, columns: slice = slice(None)) -> None:
    """Draw ``overlay``'s ``columns`` (all by default) in ``item``, placed where they are in
    the image; hide ``item`` without an overlay."""
    if overlay is None:
        item.setVisible(False)
        return
    part = np.ascontiguousarray(overlay.mask[:, columns])
    item.setImage(part, lut=lookup_table(overlay.kind), levels=(0, 255), autoLevels=False)
    item.setPos(columns.start or 0, 0)
    item.setVisible(True)
