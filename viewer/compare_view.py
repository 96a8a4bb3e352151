"""The large compare view: a swipe or a flicker of two panels.

Its ViewBox is linked to the panels' the same way the panels are linked to each other,
so it shows the region they show and they follow its pan and zoom.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QPointF, pyqtSignal

from viewer.compare import SWIPE, CompareState, split_column
from viewer.image_plot import (
    TEXT_COLOUR,
    TITLE_MARGIN,
    RegionViewBox,
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
from viewer.panels import PanelGrid
from viewer.titles import Title

DIVIDER_COLOUR = "#fff"
DIVIDER_OUTLINE = "#000"


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
        self.view = image_plot(self.plot)
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
        lines = [
            line for title in self._titles for line in title_lines(title, width, self._title_fonts)
        ]
        show_title(self.plot, lines, title_height(len(lines), self._title_fonts))

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
        pixel = pixel_at(self.view, pos, self._shape)
        self.pixelHovered.emit(*(pixel or (-1, -1)))
