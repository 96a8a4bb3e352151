"""Image panels with linked pan/zoom, and the difference heatmap with its colour bar.

One ViewBox per panel, all X/Y-linked to the first, so zooming into a face in one
panel shows the same region everywhere. Each panel holds two ImageItems — the RGB
image and the per-pixel error heatmap — and the difference toggle only swaps which
one is visible, so toggling never re-reads the files. A third ImageItem above them,
in the same view, draws a damage mask through a colour table with transparency
(:mod:`viewer.overlay`), on the image and on the heatmap alike.

Until the user pans or zooms, the images are fitted to their panels (top-aligned,
right under their titles) and refitted whenever the panels change size; after a pan
or zoom the view is kept until :meth:`PanelGrid.fit`.

:class:`CompareView` is the large swipe/flicker view of two panels; its ViewBox is
linked to the panels' the same way, so it shows the region they show and they follow
its pan and zoom.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QPointF, Qt, pyqtSignal
from PyQt6.QtGui import QFont, QFontMetricsF

from viewer.compare import SWIPE, CompareState, split_column
from viewer.overlay import Overlay, lookup_table

# Black text (titles, colour-bar ticks and label) on the white background.
pg.setConfigOptions(imageAxisOrder="row-major", antialias=False, foreground="k")

ERROR_LABEL = "|error| vs clean (mean over RGB)"
TEXT_COLOUR = "#000"
BAD_COLOUR = "#c00"  # a score its metric cannot take
BAR_WIDTH = 25
TICK_AXIS_WIDTH = 45  # pyqtgraph's width for the colour bar's tick values
TITLE_POINTS = 9
TITLE_MARGIN = 10  # px: the title's text document margins and a little air
DIVIDER_COLOUR = "#fff"
DIVIDER_OUTLINE = "#000"


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


def title_fonts(widget) -> tuple[QFontMetricsF, QFontMetricsF]:
    """The plain and bold metrics titles are wrapped with."""
    font = QFont(widget.font())
    font.setPointSizeF(TITLE_POINTS)
    bold = QFont(font)
    bold.setBold(True)
    return QFontMetricsF(font), QFontMetricsF(bold)


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


class RegionViewBox(pg.ViewBox):
    """A ViewBox whose links show the linked view's image region, whatever the two views'
    sizes and places on screen.

    pyqtgraph lines overlapping linked views up pixel for pixel instead: the large compare
    view, on the same spot as the panel grid, would then show the small panels' scale, and
    a panel would show the part of the compare view that happens to lie under it. For
    panels of one size (the grid) both rules give the same range.
    """

    def linkedViewChanged(self, view, axis) -> None:
        if self.linksBlocked or view is None:
            return
        rect = view.viewRect()
        view.blockLink(True)
        try:
            if axis == pg.ViewBox.XAxis:
                self.enableAutoRange(pg.ViewBox.XAxis, False)
                self.setXRange(rect.left(), rect.right(), padding=0)
            else:
                self.enableAutoRange(pg.ViewBox.YAxis, False)
                self.setYRange(rect.top(), rect.bottom(), padding=0)
        finally:
            view.blockLink(False)


def _image_plot(plot: pg.PlotItem) -> pg.ViewBox:
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
        view_range = next(iter(self.panels.values())).view.viewRange() if self.panels else None
        self.clear()
        self.panels = {}
        columns = self._columns = 2 if len(keys) <= 4 else 3
        for i, key in enumerate(keys):
            plot = self.addPlot(row=i // columns, col=i % columns, viewBox=RegionViewBox())
            view = _image_plot(plot)
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
            if panel.view.sceneBoundingRect().contains(pos) and self._shape:
                point = panel.view.mapSceneToView(pos)
                x, y = int(np.floor(point.x())), int(np.floor(point.y()))
                if 0 <= x < self._shape[1] and 0 <= y < self._shape[0]:
                    self.pixelHovered.emit(x, y)
                    return
        self.pixelHovered.emit(-1, -1)


def _braces(text: str) -> str:
    """``text`` as a str.format string that formats to itself."""
    return text.replace("{", "{{").replace("}", "}}")


def _retitled(title: Title | None, key: str, prefix: str) -> Title:
    """``title`` (a panel's) with ``prefix`` before its name: 'A (left): GAN ...'."""
    if title is None:
        return Title(f"{prefix}{key}")
    return Title(f"{prefix}{title.name}", title.note, list(title.items), set(title.bad))


class CompareView(pg.GraphicsLayoutWidget):
    """One large view comparing two panels, A and B: a swipe (A left of a vertical divider,
    B right of it; drag the divider) or a flicker (A or B in place).

    It draws what :meth:`draw` is given (the window's :class:`~viewer.compare.CompareState`
    and the grid's images, heatmaps and titles) with two image slots, left and right of the
    divider, each an RGB and a heatmap ImageItem holding exactly that side's columns: the
    pixels on screen left of the divider are A's, right of it B's. Its ViewBox is linked to
    the grid's first ViewBox like every panel, so it shows the region the panels show, and
    panning or zooming it moves the panels and counts as the user's zoom.
    """

    pixelHovered = pyqtSignal(int, int)
    dividerMoved = pyqtSignal(float)  # the divider was dragged: the fraction left of it

    def __init__(self, grid: PanelGrid, parent=None):
        super().__init__(parent)
        self.setBackground("w")
        self.grid = grid
        self._shape: tuple[int, int] | None = None
        self._titles: list[Title] = []
        self.plot = self.addPlot(row=0, col=0, viewBox=RegionViewBox())
        self.view = _image_plot(self.plot)
        # Bound methods, not lambdas: Qt drops these connections when either side goes.
        self.view.sigRangeChangedManually.connect(grid.mark_zoomed)
        self.view.sigResized.connect(self._view_resized)
        self.sides = {side: (pg.ImageItem(), pg.ImageItem()) for side in ("left", "right")}
        self.masks = {side: pg.ImageItem() for side in self.sides}  # over the side's image
        for side, items in self.sides.items():
            for item in (*items, self.masks[side]):
                item.setVisible(False)
                self.plot.addItem(item)
        self.note = pg.TextItem(color="#a00", anchor=(0.5, 0.5))
        self.plot.addItem(self.note)

        # The divider: a light line on a dark one, visible on any image; drag it. Each side
        # is named beside it, near the top: A to the left, B to the right.
        def named(anchor: tuple[float, float]) -> dict:
            return {
                "position": 0.03,
                "color": TEXT_COLOUR,
                "fill": (255, 255, 255, 220),
                "movable": False,
                "anchors": [anchor, anchor],
            }

        self.outline = pg.InfiniteLine(
            angle=90,
            movable=False,
            pen=pg.mkPen(DIVIDER_OUTLINE, width=4),
            label="",
            labelOpts=named((1.0, 0.0)),
        )
        self.line = pg.InfiniteLine(
            angle=90,
            movable=True,
            pen=pg.mkPen(DIVIDER_COLOUR, width=2),
            hoverPen=pg.mkPen("#ffd400", width=3),
            label="",
            labelOpts=named((0.0, 0.0)),
        )
        self.line.setToolTip("Drag to move the divider")
        self.outline.setZValue(9)
        self.line.setZValue(10)
        self.line.sigPositionChanged.connect(self._line_moved)
        self.plot.addItem(self.outline)
        self.plot.addItem(self.line)
        self.colorbar, self._colorbar_width = make_colorbar()
        self.colorbar.setImageItem([diff for _rgb, diff in self.sides.values()])
        self.addItem(self.colorbar, row=0, col=1)
        self.ci.layout.setColumnFixedWidth(1, self._colorbar_width)
        self.colorbar.setVisible(False)
        # One colour scale: dragging either bar sets the other.
        self.colorbar.sigLevelsChanged.connect(self._bar_dragged)
        grid.levelsChanged.connect(self._grid_levels_changed)
        grid.rebuilt.connect(self.link)
        self._title_fonts = title_fonts(self)
        self._placing_line = False
        self._linked = False
        # side -> (panel key or None, first column, end column) of what it shows
        self.shown: dict[str, tuple[str | None, int, int]] = {}
        self.scene().sigMouseMoved.connect(self._mouse_moved)

    def _bar_dragged(self, _bar=None) -> None:
        self.grid.set_levels(self.colorbar.levels())

    def _grid_levels_changed(self) -> None:
        self.colorbar.setLevels(self.grid.levels())

    def set_linked(self, on: bool) -> None:
        """Link to the grid's first ViewBox, as every panel is, while the view is in use.

        Unlinked while hidden: a ViewBox pushes its own range (aspect-corrected to its own
        size) to the view it is linked to whenever it is resized, which would move the
        panels' fitted range. Linking takes the panels' range at once.
        """
        self._linked = on
        self.link()

    def link(self) -> None:
        """(Re)link to the grid's first ViewBox (after the grid's panels were rebuilt)."""
        first = self.grid.first_view if self._linked else None
        if self.view.linkedView(0) is not first:
            self.view.setXLink(first)
        if self.view.linkedView(1) is not first:
            self.view.setYLink(first)

    def draw(
        self,
        state: CompareState,
        images: dict[str, np.ndarray | None],
        diffs: dict[str, np.ndarray],
        titles: dict[str, Title],
        diff_mode: bool,
        levels: tuple[float, float],
        overlays: dict[str, Overlay | None],
    ) -> None:
        """Draw ``state``: in a swipe A's columns left of the divider and B's right of it, in a
        flicker the one shown; in the difference view their heatmaps (the clean reference
        stays an image) on the grid's colour scale; each side's mask overlay over it."""
        keys = (state.a, state.b)
        shape = next((images[k].shape[:2] for k in keys if images.get(k) is not None), None)
        width = shape[1] if shape else 0
        if state.mode == SWIPE:
            split = split_column(state.divider, width)
            parts = {"left": (state.a, 0, split), "right": (state.b, split, width)}
        else:
            parts = {"left": (state.shown, 0, width), "right": (None, width, width)}
        self.shown, missing = {}, []
        for side, (key, first, end) in parts.items():
            rgb, diff = self.sides[side]
            image = images.get(key) if key else None
            heat = diffs.get(key) if key and diff_mode else None
            source, item = (heat, diff) if heat is not None else (image, rgb)
            (diff if item is rgb else rgb).setVisible(False)
            if key and image is None:
                missing.append(key)
            if source is None or end <= first:
                item.setVisible(False)
                self.masks[side].setVisible(False)
                self.shown[side] = (key, first, first)
                continue
            # Exactly this side's columns, placed where they are in the image.
            item.setImage(np.ascontiguousarray(source[:, first:end]), autoLevels=False)
            item.setPos(first, 0)
            item.setVisible(True)
            show_overlay(self.masks[side], overlays.get(key), slice(first, end))
            self.shown[side] = (key, first, end)
        self.colorbar.setLevels(tuple(levels))  # also the heatmaps' levels
        show_colorbar(self.colorbar, diff_mode)
        self.note.setText(
            "\n".join(f"{titles[k].name if k in titles else k}: not available" for k in missing)
        )
        if shape:
            self.note.setPos(shape[1] / 2, shape[0] / 2)
        swiping = state.mode == SWIPE and shape is not None
        for line in (self.line, self.outline):
            line.setVisible(swiping)
        if swiping:
            self._placing_line = True
            try:
                self.line.setBounds((0, width))
                self.line.setValue(split)
                self.outline.setValue(split)
            finally:
                self._placing_line = False
            # Format strings (pyqtgraph redraws them as the line moves): braces escaped.
            a, b = (_braces(titles[k].name if k in titles else k) for k in keys)
            self.outline.label.setFormat(f"◀ A: {a} ")
            self.line.label.setFormat(f" B: {b} ▶")
        self._titles = self._compose_titles(state, titles)
        self._draw_titles()
        if shape:
            self._shape = shape
            if not self.grid.zoomed:
                self.fit()

    @staticmethod
    def _compose_titles(state: CompareState, titles: dict[str, Title]) -> list[Title]:
        if state.mode == SWIPE:
            return [
                _retitled(titles.get(state.a), state.a, "A (left): "),
                _retitled(titles.get(state.b), state.b, "B (right): "),
            ]
        shown, other = ("A", "B") if state.showing == "a" else ("B", "A")
        hidden = state.b if state.showing == "a" else state.a
        name = titles[hidden].name if hidden in titles else hidden
        return [
            _retitled(titles.get(state.shown), state.shown, f"showing {shown}: "),
            Title(f"{other}: {name}", "(next)"),
        ]

    def title_text(self) -> str:
        """The title as plain text (what it says, for tests and the pixel readout)."""
        return self.plot.titleLabel.item.toPlainText()

    def _draw_titles(self) -> None:
        left, _top, right, _bottom = self.ci.layout.getContentsMargins()
        room = self.width() - self._colorbar_width - left - right - 20
        width = max(room - TITLE_MARGIN, 40)
        lines = [line for title in self._titles for line in title.lines(width, self._title_fonts)]
        height = int(np.ceil(len(lines) * self._title_fonts[0].lineSpacing())) + TITLE_MARGIN
        label = self.plot.titleLabel
        label.setVisible(True)
        label.setText("<br>".join(lines), size=f"{TITLE_POINTS}pt")
        label.setMinimumWidth(0)
        label.setMaximumHeight(height)
        self.plot.layout.setRowFixedHeight(0, height)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if getattr(self, "_titles", None):  # pyqtgraph resizes once while constructing
            self._draw_titles()

    def _view_resized(self, _view=None) -> None:
        # As in the grid: the ViewBox has its new size only now.
        if self._shape and not self.grid.zoomed and self.isVisible():
            self.fit()

    def fit(self) -> None:
        """The whole image, as large as fits, at the top (the panels follow the link)."""
        if self._shape:
            x, y = fitted_range(self.view, self._shape)
            self.view.setRange(xRange=x, yRange=y, padding=0)

    def _line_moved(self, _line=None) -> None:
        self.outline.setValue(self.line.value())
        if not self._placing_line and self._shape:
            self.dividerMoved.emit(float(self.line.value()) / self._shape[1])

    def _mouse_moved(self, pos: QPointF) -> None:
        if self._shape and self.view.sceneBoundingRect().contains(pos):
            point = self.view.mapSceneToView(pos)
            x, y = int(np.floor(point.x())), int(np.floor(point.y()))
            if 0 <= x < self._shape[1] and 0 <= y < self._shape[0]:
                self.pixelHovered.emit(x, y)
                return
        self.pixelHovered.emit(-1, -1)
