"""The viewer window (pytest-qt, offscreen): loading, table, navigation, zoom, difference view,
exports, partial and broken runs, reload."""

from __future__ import annotations

import csv
import gc
import re
import shutil
import weakref

import h5py
import numpy as np
import pytest
from PIL import Image
from PyQt6.QtCore import QPoint, QPointF, Qt
from PyQt6.QtGui import QColor, QImage, QWheelEvent
from PyQt6.QtWidgets import QApplication
from viewer_fixtures import (
    N_TEST,
    NEWER_SCORES,
    QT_WAIT_MS,
    SIZE,
    as_older_run,
    as_shown,
    empty_test_split,
    grab_pixels,
    read_metric,
    read_prediction,
    read_test,
    rename_images,
    set_scores,
    small_run,
)

from bench.fakerun import make_fake_run
from restorebench import contract
from viewer.compare import CompareState, parse_pair, split_column, swipe
from viewer.score_table_view import NAME_COLUMN_MAX
from viewer.scores import headline_metrics
from viewer.table import IMPOSSIBLE_COLOUR
from viewer.window import ViewerWindow


@pytest.fixture
def fake_run(tmp_path):
    return small_run(tmp_path)


@pytest.fixture
def window(qtbot, fake_run):
    win = ViewerWindow(fake_run)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow)
    return win


def shown(win: ViewerWindow, key: str) -> np.ndarray:
    return win.panels.panels[key].rgb.image


def test_loads_first_image_with_scores(window, fake_run):
    test = read_test(fake_run)
    assert list(window.panels.panels) == ["damaged", "clean", "vae", "gan"]
    assert window.current == 0 and window.problems == [] and window.banner.isHidden()
    assert np.array_equal(shown(window, "clean"), test["clean"][0])
    assert np.array_equal(shown(window, "damaged"), test["damaged"][0])
    gan_title = window.panels.panels["gan"].plot.titleLabel.text
    assert f"SSIM {read_metric(fake_run, 'gan', 'ssim')[0]:.4f}" in gan_title
    assert f"PSNR (dB) {read_metric(fake_run, 'gan', 'psnr')[0]:.2f}" in gan_title
    damaged_title = window.panels.panels["damaged"].plot.titleLabel.text
    assert f"MSE {read_metric(fake_run, 'damaged', 'mse')[0]:.1f}" in damaged_title
    # One column per scored model, all showing the chosen metric: the spec's first
    # higher-is-better one by default.
    assert window.table.rowCount() == N_TEST and window.table.columnCount() == 2 + 4
    assert window.table.headers() == ["#", "name", "VAE", "GAN", "damaged", "inpaint"]
    first_higher = next(m for m in contract.METRICS if not m.lower_is_better)
    assert window.table.metric == first_higher.name
    assert window.metric_box.currentText() == first_higher.label
    gan = window.table.column_of("gan")
    shown_gan = window.table.data(window.table.index(0, gan))
    assert shown_gan == first_higher.show(read_metric(fake_run, "gan", first_higher.name)[0])
    # The summary panel shows the means of summary.csv.
    assert window.summary.rowCount() == 4 and "summary.csv" in window.summary_label.text()
    vae_row = [window.summary.verticalHeaderItem(r).text() for r in range(4)].index("VAE")
    assert (
        window.summary.item(vae_row, 2).text()
        == f"{read_metric(fake_run, 'vae', 'ssim').mean():.4f}"
    )


def test_baseline_panel_is_selectable(window, fake_run):
    assert set(window.model_boxes) == {"vae", "gan", "inpaint"}
    window.model_boxes["inpaint"].click()
    assert list(window.panels.panels) == ["damaged", "clean", "vae", "gan", "inpaint"]
    with h5py.File(fake_run / "predictions" / "inpaint.h5", "r", locking=False) as file:
        assert np.array_equal(shown(window, "inpaint"), file["images"][0])
    window.model_boxes["vae"].click()
    assert list(window.panels.panels) == ["damaged", "clean", "gan", "inpaint"]


def test_sorting_by_a_score_column(window, fake_run):
    window.set_metric("ssim")
    column = window.table.column_of("gan")
    window.table_view.sortByColumn(column, Qt.SortOrder.DescendingOrder)
    ssim = read_metric(fake_run, "gan", "ssim")
    order = list(window.table.order)
    assert sorted(ssim, reverse=True) == list(ssim[order])
    shown_text = [window.table.data(window.table.index(r, column)) for r in range(3)]
    assert shown_text == [f"{v:.4f}" for v in ssim[order[:3]]]
    # Choosing another metric re-sorts the same model's column by it.
    window.metric_box.setCurrentIndex(window.metric_box.findData("mse"))
    mse = read_metric(fake_run, "gan", "mse")
    assert window.table.metric == "mse" and list(mse[window.table.order]) == sorted(
        mse, reverse=True
    )
    assert window.table.data(window.table.index(0, column)) == f"{mse.max():.1f}"
    assert window.table_view.currentIndex().row() == window.table.row_of(window.current)
    window.table_view.sortByColumn(1, Qt.SortOrder.AscendingOrder)
    assert list(window.table.order) == list(range(N_TEST))
    # The image on screen stays selected through a re-sort.
    assert window.table_view.currentIndex().row() == window.table.row_of(window.current)


def test_filter_by_name_and_condition(window, fake_run, qtbot):
    qtbot.keyClicks(window.name_filter, "img0000")
    assert list(window.table.order) == list(range(10))
    window.name_filter.setText("*1")
    assert list(window.table.order) == [1, 11]
    window.name_filter.clear()
    texts = [window.presets.itemText(i) for i in range(window.presets.count())]
    preset = texts.index("GAN worse than VAE (SSIM)")
    assert "VAE worse than the damaged input (MSE)" in texts
    window.presets.setCurrentIndex(preset)
    window.presets.activated.emit(preset)
    assert window.condition.text() == "gan.ssim < vae.ssim"
    expected = np.flatnonzero(
        read_metric(fake_run, "gan", "ssim") < read_metric(fake_run, "vae", "ssim")
    )
    assert list(window.table.order) == list(expected)
    assert window.count_label.text() == f"{len(expected)} of {N_TEST}"
    if len(expected):
        assert window.current in expected  # the selection moved to a visible image
    window.condition.setText("vae.psnr > 1e9 or damaged.mse > 0")
    assert window.table.rowCount() == N_TEST
    window.condition.setText("gan.ssim <")
    assert (
        "Condition not applied" in window.filter_error.text() and window.table.rowCount() == N_TEST
    )


def test_keyboard_navigation(window, qtbot, fake_run):
    test = read_test(fake_run)
    window.table_view.setFocus()
    qtbot.keyClick(window.table_view, Qt.Key.Key_Right)
    assert window.current == 1 and np.array_equal(shown(window, "clean"), test["clean"][1])
    qtbot.keyClick(window.table_view, Qt.Key.Key_Down)
    assert window.current == 2
    qtbot.keyClick(window.table_view, Qt.Key.Key_Left)
    qtbot.keyClick(window.table_view, Qt.Key.Key_Up)
    assert window.current == 0
    qtbot.keyClick(window.table_view, Qt.Key.Key_End)
    assert window.current == N_TEST - 1
    qtbot.keyClick(window.table_view, Qt.Key.Key_Right)  # stays on the last
    assert window.current == N_TEST - 1
    qtbot.keyClick(window.table_view, Qt.Key.Key_Home)
    assert window.current == 0
    # Navigation follows the table's visible (sorted) order.
    window.set_metric("mse")
    window.table_view.sortByColumn(window.table.column_of("vae"), Qt.SortOrder.AscendingOrder)
    qtbot.keyClick(window.table_view, Qt.Key.Key_Home)
    qtbot.keyClick(window.table_view, Qt.Key.Key_Right)
    assert window.current == int(np.argsort(read_metric(fake_run, "vae", "mse"), kind="stable")[1])
    # Arrow keys in a text field edit the text instead.
    window.name_filter.setFocus()
    before = window.current
    qtbot.keyClick(window.name_filter, Qt.Key.Key_Right)
    assert window.current == before
    qtbot.keyClick(window.table_view, Qt.Key.Key_D)
    assert window.panels.diff_mode and window.diff_box.isChecked()


def test_linked_zoom(window):
    views = [p.view for p in window.panels.panels.values()]
    views[2].setRange(xRange=(4, 12), yRange=(6, 14), padding=0)
    for view in views:
        (x0, x1), (y0, y1) = view.viewRange()
        # Each panel shows the zoomed region (aspect lock may widen one axis slightly).
        assert x0 <= 4.01 and x1 >= 11.99 and y0 <= 6.01 and y1 >= 13.99
        assert x1 - x0 < SIZE / 2 and y1 - y0 < SIZE / 2
    assert np.allclose(views[0].viewRange(), views[3].viewRange(), atol=0.2)


def test_difference_view_values(window, fake_run, qtbot):
    test = read_test(fake_run)
    window.step(1)
    qtbot.keyClick(window.table_view, Qt.Key.Key_D)
    panels = window.panels.panels
    with h5py.File(fake_run / "predictions" / "vae.h5", "r", locking=False) as file:
        vae = file["images"][1].astype(float)
    expected = np.abs(vae - test["clean"][1].astype(float)).mean(axis=2)
    assert panels["vae"].diff.isVisible() and not panels["vae"].rgb.isVisible()
    assert np.allclose(panels["vae"].diff.image, expected, atol=1e-4)
    assert panels["clean"].rgb.isVisible()  # the reference stays an image
    # One colour scale for all heatmaps, reaching the largest error on screen.
    levels = window.panels.levels()
    top = max(float(panels[k].diff.image.max()) for k in ("damaged", "vae", "gan"))
    assert levels[0] == 0 and top <= levels[1] <= top + 1
    for key in ("damaged", "vae", "gan"):
        assert tuple(panels[key].diff.getLevels()) == pytest.approx(levels)
    assert window.panels.colorbar.isVisible()
    y, x = np.unravel_index(np.argmax(expected), expected.shape)
    report = window.pixel_report(int(x), int(y))
    r, g, b = test["clean"][1][y, x]
    assert f"x {x}, y {y}" in report and f"clean ({r}, {g}, {b})" in report
    assert f"VAE ({', '.join(str(int(v)) for v in vae[y, x])}) |err| {expected[y, x]:.1f}" in report
    # Hovering a panel puts that report under the images.
    view = panels["gan"].view
    scene_pos = view.mapViewToScene(view.mapToView(view.mapFromView(view.viewRect().center())))
    window.panels._mouse_moved(scene_pos)
    assert window.pixel_label.text().startswith("x ")
    qtbot.keyClick(window.table_view, Qt.Key.Key_D)
    assert panels["vae"].rgb.isVisible() and not window.panels.colorbar.isVisible()


def test_exports(window, tmp_path, fake_run):
    window.condition.setText("gan.psnr > vae.psnr")
    png = window.export_png(tmp_path / "quad.png")
    image = np.asarray(Image.open(png).convert("RGB"))
    assert image.shape[0] > 100 and image.shape[1] > 100 and image.std() > 10
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 50
    out = window.export_csv(tmp_path / "table.csv")
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    expected = np.flatnonzero(
        read_metric(fake_run, "gan", "psnr") > read_metric(fake_run, "vae", "psnr")
    )
    assert [int(r["index"]) for r in rows] == list(expected)
    assert [float(r["gan_psnr"]) for r in rows] == list(
        read_metric(fake_run, "gan", "psnr")[expected]
    )
    assert set(rows[0]) == {"index", "name"} | {
        f"{m}_{k}" for m in ("vae", "gan", "inpaint", "damaged") for k in contract.metric_names()
    }


def test_partial_run(qtbot, tmp_path):
    run = make_fake_run(tmp_path / "run", 5, 16, models=("vae", "damaged"), summary=False)
    (run / "models" / "gan").mkdir(parents=True)  # trained or training, not yet predicted
    win = ViewerWindow(run)
    qtbot.addWidget(win)
    assert win.problems == []
    assert set(win.model_boxes) == {"vae", "gan"}  # no inpaint files: no inpaint box
    gan = win.panels.panels["gan"]
    assert gan.note.toPlainText().startswith("not available") and not gan.rgb.isVisible()
    assert "not available" in gan.plot.titleLabel.text
    assert win.table.headers()[2:] == ["VAE", "damaged"]  # gan has no scores: no column
    assert "metrics/*.csv" in win.summary_label.text() and win.summary.rowCount() == 2
    win.step(1)
    assert win.current == 1


def test_a_model_whose_files_are_gone_is_named_in_the_banner(qtbot, fake_run):
    """summary.csv still lists GAN: its means stay in the summary, the banner says why it has
    no panel or column and what to do."""
    (fake_run / "predictions" / "gan.h5").unlink()
    (fake_run / "metrics" / "gan.csv").unlink()
    win = ViewerWindow(fake_run)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    assert win.banner.isVisible()
    shown = as_shown(win.banner.text())
    assert (
        "model 'gan': summary.csv lists it, but predictions/gan.h5 and metrics/gan.csv are "
        "missing" in shown
    )
    assert "run snakemake again to restore and score it" in shown
    assert "gan" not in win.panels.panels and "GAN" not in win.table.headers()
    summary_models = [
        win.summary.verticalHeaderItem(r).text() for r in range(win.summary.rowCount())
    ]
    assert "GAN" in summary_models


def test_corrupt_files_show_a_message(qtbot, fake_run):
    (fake_run / "predictions" / "vae.h5").write_bytes(b"\x89HDF\r\n" + b"\0" * 50)
    rows = (fake_run / "metrics" / "gan.csv").read_text().splitlines()
    rows[3] = rows[3].replace("img00002", "someone_else")
    (fake_run / "metrics" / "gan.csv").write_text("\n".join(rows) + "\n")
    with h5py.File(fake_run / "predictions" / "gan.h5", "r+") as file:
        file["images"].id.write_direct_chunk((4, 0, 0, 0), b"not deflate data")
    win = ViewerWindow(fake_run)
    qtbot.addWidget(win)
    win.show()
    text = win.banner.text()
    assert not win.banner.isHidden()
    assert "predictions/vae.h5: cannot be read as HDF5" in text
    assert "metrics/gan.csv: names do not match dataset.h5 (row 2 is 'someone_else'" in text
    assert "not available" in win.panels.panels["vae"].note.toPlainText()
    assert "GAN" not in win.table.headers()
    win.show_index(4)  # the damaged chunk: a message, the other panels still shown
    assert "gan: image 4 ('img00004') cannot be read" in win.banner.text()
    assert win.panels.panels["gan"].note.toPlainText().startswith("not available")
    assert win.panels.panels["clean"].rgb.image is not None
    win.show_index(5)
    assert win.panels.panels["gan"].rgb.isVisible()


def test_reload_when_files_change(qtbot, tmp_path):
    full = make_fake_run(tmp_path / "full", 6, 16)
    run = tmp_path / "run"
    shutil.copytree(full, run)
    (run / "predictions" / "gan.h5").unlink()
    win = ViewerWindow(run)
    qtbot.addWidget(win)
    win.step(3)
    assert win.panels.panels["gan"].rgb.image is None and win.current == 3
    # As Snakemake does: the file appears, written anew.
    shutil.copy(full / "predictions" / "gan.h5", run / "predictions" / "gan.h5")
    qtbot.waitUntil(lambda: win.panels.panels["gan"].rgb.image is not None, timeout=QT_WAIT_MS)
    assert win.current == 3  # the same image stays on screen
    # A dataset being rewritten (here: truncated) gives a message, not a crash, and recovers.
    data = (run / "dataset.h5").read_bytes()
    (run / "dataset.h5").unlink()
    (run / "dataset.h5").write_bytes(data[:200])
    qtbot.waitUntil(lambda: "dataset.h5" in win.banner.text(), timeout=QT_WAIT_MS)
    assert win.table.rowCount() == 0
    (run / "dataset.h5").unlink()
    (run / "dataset.h5").write_bytes(data)
    qtbot.waitUntil(lambda: win.table.rowCount() == 6, timeout=QT_WAIT_MS)
    assert win.banner.isHidden() or not win.banner.text()


def test_models_of_any_name_get_panels_in_summary_order(qtbot, tmp_path):
    """No fixed model list: every trained model of the run gets a ticked panel."""
    models = ("vae_origin", "gan_lr2e4", "damaged", "inpaint")
    run = make_fake_run(tmp_path / "run", 4, 16, models=models)
    win = ViewerWindow(run)
    qtbot.addWidget(win)
    assert win.problems == []
    assert list(win.model_boxes) == ["vae_origin", "gan_lr2e4", "inpaint"]
    assert list(win.panels.panels) == ["damaged", "clean", "vae_origin", "gan_lr2e4"]
    assert "gan_lr2e4" in win.table.headers()


def test_asking_for_a_model_the_run_lacks_says_so(qtbot, fake_run):
    win = ViewerWindow(fake_run, models=["gan", "gam"])
    qtbot.addWidget(win)
    assert (
        "panels asked for: the run has no model 'gam' (available: vae, gan, inpaint)"
        in win.problems
    )
    assert not win.banner.isHidden() and "'gam'" in win.banner.text()
    assert list(win.panels.panels) == ["damaged", "clean", "gan"]


# -- robustness ---------------------------------------------------------------------------
def test_empty_or_unreadable_dataset_is_named_in_the_window(qtbot, tmp_path):
    """No traceback: the banner names dataset.h5 and the reason, the window stays usable."""
    run = make_fake_run(tmp_path / "run", 4, 16)
    data = (run / "dataset.h5").read_bytes()
    empty_test_split(run)
    win = ViewerWindow(run)
    qtbot.addWidget(win)
    win.show()
    assert "dataset.h5: the test split is empty" in win.banner.text() and not win.banner.isHidden()
    assert win.run is None and win.table.rowCount() == 0
    win.step(1)  # keys do nothing rather than fail
    win.fit_images()
    (run / "dataset.h5").write_bytes(data[: len(data) // 2])  # truncated
    win.reload()
    assert "dataset.h5: cannot be read as HDF5" in win.banner.text()
    (run / "dataset.h5").write_bytes(data)
    win.reload()
    assert win.run is not None and win.table.rowCount() == 4 and win.banner.isHidden()


def test_impossible_scores_are_marked_in_the_window(qtbot, fake_run):
    set_scores(fake_run, "vae", {(0, "mse"): "-3", (1, "ssim"): "1.5", (2, "psnr"): "nan"})
    summary = (fake_run / "summary.csv").read_text().splitlines()
    header = summary[0].split(",")
    for i, line in enumerate(summary):
        cells = line.split(",")
        if cells[:2] == ["gan", "ssim"]:
            cells[header.index("mean")] = "1.2"
            summary[i] = ",".join(cells)
    (fake_run / "summary.csv").write_text("\n".join(summary) + "\n")
    win = ViewerWindow(fake_run)
    qtbot.addWidget(win)
    win.show()
    banner = win.banner.text()
    for metric in ("MSE", "SSIM", "PSNR (dB)"):
        assert f"metrics/vae.csv: 1 impossible {metric} value(s)" in banner
    # The cell: red, and the tooltip says why.
    win.set_metric("mse")
    cell = win.table.index(win.table.row_of(0), win.table.column_of("vae"))
    assert win.table.data(cell, Qt.ItemDataRole.BackgroundRole) == QColor(IMPOSSIBLE_COLOUR)
    assert as_shown(win.table.data(cell, Qt.ItemDataRole.ToolTipRole)).startswith(
        "impossible value: MSE -3.0"
    )
    # The panel title marks it too.
    assert "(impossible)" in win.panels.panels["vae"].plot.titleLabel.item.toPlainText()
    assert "(impossible)" not in win.panels.panels["gan"].plot.titleLabel.item.toPlainText()
    # An impossible mean in summary.csv is marked in the summary.
    rows = [win.summary.verticalHeaderItem(r).text() for r in range(win.summary.rowCount())]
    item = win.summary.item(rows.index("GAN"), [m.name for m in contract.METRICS].index("ssim"))
    assert item.background().color() == QColor(IMPOSSIBLE_COLOUR)
    assert as_shown(item.toolTip()).startswith("impossible value: SSIM 1.2")


def test_perceptual_scores_in_the_table_sort_lower_is_better(qtbot, fake_run):
    """LPIPS and FLIP are table metrics like the others: shown, sorted both ways with the
    images without a score last, 'lower is better' in the header, presets the right way."""
    # No image of SIZE px has an LPIPS: give GAN some (two images still without one).
    lpips = ["0.30", "0.05", "0.12", "nan", "0.21", "0.02", "0.40", "0.33", "nan", "0.07"]
    set_scores(fake_run, "gan", {(i, "lpips"): v for i, v in enumerate(lpips + ["0.15", "0.09"])})
    win = ViewerWindow(fake_run)
    qtbot.addWidget(win)
    win.show()
    labels = [win.metric_box.itemText(i) for i in range(win.metric_box.count())]
    assert {"LPIPS", "FLIP", "damaged LPIPS", "intact LPIPS"} <= set(labels)
    assert win.problems == []  # a missing LPIPS is no impossible value
    column = win.table.column_of("gan")
    for name in ("lpips", "flip"):
        spec = contract.metric(name)
        assert spec.lower_is_better
        win.set_metric(name)
        tip = win.table.headerData(column, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
        assert as_shown(tip) == f"GAN: {spec.label} per image (lower is better)"
        values = read_metric(fake_run, "gan", name)
        for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
            win.table_view.sortByColumn(column, order)
            ranked = values[win.table.order]
            present = ranked[~np.isnan(ranked)]
            descending = order == Qt.SortOrder.DescendingOrder
            assert list(present) == sorted(present, reverse=descending)
            assert np.isnan(ranked[len(present) :]).all()  # no score: last either way
            cells = [win.table.data(win.table.index(r, column)) for r in range(N_TEST)]
            assert cells == [spec.show(v) for v in ranked]
    win.set_metric("lpips")  # VAE's images have none: '-' throughout, not red
    vae = win.table.column_of("vae")
    assert {win.table.data(win.table.index(r, vae)) for r in range(N_TEST)} == {"-"}
    assert win.table.data(win.table.index(0, vae), Qt.ItemDataRole.BackgroundRole) is None
    # The presets read "worse" the metric's way: a higher LPIPS or FLIP.
    conditions = [win.presets.itemData(i) for i in range(win.presets.count())]
    assert "gan.lpips > vae.lpips" in conditions and "gan.flip > damaged.flip" in conditions
    assert "gan.ssim < vae.ssim" in conditions
    heads = [m.name for m in headline_metrics()]
    header = as_shown(win.summary.horizontalHeaderItem(heads.index("flip")).toolTip())
    assert header == "FLIP: mean over the test images (lower is better)"


def test_an_older_run_opens_with_every_score_it_has(qtbot, fake_run, tmp_path):
    """A run scored before the spec had LPIPS and FLIP: every score it has is shown, sorted
    and filtered; what it lacks is '-' and named in one banner line, never impossible."""
    as_older_run(fake_run)
    win = ViewerWindow(fake_run)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    assert win.problems == [
        (
            "scores of an older run: metrics/*.csv have no lpips, flip, hole_lpips, "
            "intact_lpips; the rest is shown (run snakemake again to score them)"
        )
    ]
    assert win.banner.isVisible() and "metrics/*.csv have no lpips" in win.banner.text()
    assert win.table.headers() == ["#", "name", "VAE", "GAN", "damaged", "inpaint"]
    gan = win.table.column_of("gan")
    for name in ("ssim", "mse", "hole_psnr", "intact_ssim", "mask_share"):
        win.set_metric(name)
        win.table_view.sortByColumn(gan, Qt.SortOrder.DescendingOrder)
        values = read_metric(fake_run, "gan", name)[win.table.order]
        present = values[~np.isnan(values)]
        assert list(present) == sorted(present, reverse=True)
        cells = [win.table.data(win.table.index(r, gan)) for r in range(N_TEST)]
        assert cells == [contract.metric(name).show(v) for v in values]
    # A score it lacks: '-' everywhere, not red, the tooltip says why; sorting by it works.
    for name in NEWER_SCORES:
        win.set_metric(name)
        win.table_view.sortByColumn(gan, Qt.SortOrder.AscendingOrder)
        for model in win.table.models:
            column = win.table.column_of(model)
            cells = {win.table.data(win.table.index(r, column)) for r in range(N_TEST)}
            assert cells == {"-"}
            cell = win.table.index(0, column)
            assert win.table.data(cell, Qt.ItemDataRole.BackgroundRole) is None
            tip = as_shown(win.table.data(cell, Qt.ItemDataRole.ToolTipRole))
            assert tip.startswith(f"{model.upper() if len(model) <= 3 else model}: no ")
            assert "older run" in tip
    # The titles: the scores it has, none marked impossible.
    win.set_metric("ssim")
    title = win.panels.panels["gan"].plot.titleLabel.item.toPlainText()
    assert f"SSIM {read_metric(fake_run, 'gan', 'ssim')[win.current]:.4f}" in title
    assert "LPIPS" not in title and "FLIP" not in title and "impossible" not in title
    # The summary: the means it has; '-' for the others, the tooltip saying why.
    summary = win.summary
    assert summary.horizontalScrollBar().maximum() == 0
    for column, spec in enumerate(headline_metrics()):
        for row in range(summary.rowCount()):
            item = summary.item(row, column)
            if spec.name in NEWER_SCORES:
                assert item.text() == "-"
                assert "not scored: its scores are an older run's" in as_shown(item.toolTip())
            else:
                assert item.text() != "-" and "n = 12" in as_shown(item.toolTip())
    # Conditions on the scores it has filter; one on a score it lacks says why.
    win.condition.setText("gan.ssim < vae.ssim")
    expected = read_metric(fake_run, "gan", "ssim") < read_metric(fake_run, "vae", "ssim")
    assert sorted(win.table.order) == list(np.flatnonzero(expected))
    win.condition.setText("gan.flip < vae.flip")
    assert win.table.rowCount() == N_TEST
    assert "gan has no flip (its scores are an older run's" in win.filter_error.text()
    conditions = [win.presets.itemData(i) for i in range(win.presets.count())]
    assert "gan.ssim < vae.ssim" in conditions
    assert not [c for c in conditions if "lpips" in c or "flip" in c]
    # The export: every score it has, empty where it has none.
    win.condition.clear()
    with open(win.export_csv(tmp_path / "table.csv"), newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == N_TEST and {row["gan_flip"] for row in rows} == {""}
    ssim = read_metric(fake_run, "gan", "ssim")
    assert [float(row["gan_ssim"]) for row in rows] == list(ssim[win.table.order])


ODD_NAMES = ["$x^2$", "a_b_c", "fish & chips", "<b>bold</b>", "<i>x", "&amp;", "1<2>0"]


def test_image_names_show_literally(qtbot, tmp_path):
    """No HTML or math reading of a name: titles, table, tooltips and banner show it as written."""
    run = make_fake_run(tmp_path / "run", len(ODD_NAMES), 16)
    rename_images(run, ODD_NAMES)
    with h5py.File(run / "predictions" / "gan.h5", "r+") as file:
        file["images"].id.write_direct_chunk((3, 0, 0, 0), b"not deflate data")
    win = ViewerWindow(run)
    qtbot.addWidget(win)
    win.show()
    assert win.problems == []
    for index, name in enumerate(ODD_NAMES):
        win.show_index(index)
        title = win.panels.panels["clean"].plot.titleLabel.item.toPlainText()
        assert f"{name} · #{index}" in title
        row = win.table.row_of(index)
        assert win.table.data(win.table.index(row, 1)) == name
        assert (
            as_shown(win.table.data(win.table.index(row, 1), Qt.ItemDataRole.ToolTipRole)) == name
        )
    assert "gan: image 3 ('<b>bold</b>') cannot be read" in as_shown(win.banner.text())
    assert win._current_name() == "1_2_0"  # a safe default file name for the export


# -- daily use ------------------------------------------------------------------------------
def _fits(widget, text: str, width: int) -> bool:
    return widget.fontMetrics().horizontalAdvance(text) <= width


@pytest.mark.parametrize("size", [(1500, 900), (1280, 720)])
def test_table_and_summary_fit_on_screen(qtbot, fake_run, size):
    long_name = "a_very_long_image_name_from_some_camera_roll_0001.png"
    rename_images(fake_run, [long_name] + [f"img{i:05d}" for i in range(1, N_TEST)])
    win = ViewerWindow(fake_run)
    qtbot.addWidget(win)
    win.resize(*size)
    win.show()
    qtbot.waitExposed(win)
    view, table = win.table_view, win.table
    # Every model side by side, the whole table inside the viewport: no horizontal scrolling.
    assert table.headers()[2:] == ["VAE", "GAN", "damaged", "inpaint"]
    assert view.horizontalScrollBar().maximum() == 0
    header = view.horizontalHeader()
    for column in range(table.columnCount()):
        right = view.columnViewportPosition(column) + view.columnWidth(column)
        assert right <= view.viewport().width(), table.headers()[column]
        assert _fits(header, table.headers()[column], view.columnWidth(column) - 14)
        if column == 1:
            continue
        for row in range(table.rowCount()):
            value = table.data(table.index(row, column))
            assert _fits(view, value, view.columnWidth(column) - 6), (column, value)
    # The name column stays narrow: a long name is elided, the tooltip has all of it.
    assert view.columnWidth(1) <= NAME_COLUMN_MAX
    assert view.textElideMode() == Qt.TextElideMode.ElideMiddle
    cell = table.index(table.row_of(0), 1)
    assert as_shown(table.data(cell, Qt.ItemDataRole.ToolTipRole)) == long_name
    # The summary: every model and every headline metric's mean readable, no scroll bar.
    summary = win.summary
    assert summary.rowCount() == 4 and summary.columnCount() == len(headline_metrics())
    assert summary.horizontalScrollBar().maximum() == 0
    assert summary.verticalScrollBar().maximum() == 0
    for column, spec in enumerate(headline_metrics()):
        width = summary.columnWidth(column)
        # A label may take two lines ('damaged PSNR' over '(dB)'): each fits.
        for line in summary.horizontalHeaderItem(column).text().split("\n"):
            assert _fits(summary.horizontalHeader(), line, width)
        for row in range(summary.rowCount()):
            assert _fits(summary, summary.item(row, column).text(), width - 6)
        tip = as_shown(summary.item(0, column).toolTip())
        if spec.name == contract.LPIPS.name:
            # No image of SIZE px has an LPIPS (under 31 px): '-', and the tooltip says why.
            assert SIZE < 31 and {summary.item(r, column).text() for r in range(4)} == {"-"}
            assert "no test image has this score (n = 0)" in tip
            continue
        assert (
            "sd" in tip and "median" in tip and f"{win.run.interval} [" in tip and "n = 12" in tip
        )
    # The filter fields keep room to type.
    assert win.condition.width() >= 150 and win.name_filter.width() >= 150


def _wheel(win: ViewerWindow, key: str, steps: int = 2) -> None:
    """Zoom with the mouse wheel over a panel, as a user does."""
    grid = win.panels
    pos = grid.mapFromScene(grid.panels[key].view.sceneBoundingRect().center())
    event = QWheelEvent(
        QPointF(pos),
        QPointF(grid.viewport().mapToGlobal(pos)),
        QPoint(0, 0),
        QPoint(0, 120 * steps),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(grid.viewport(), event)


def _fitted(win: ViewerWindow) -> bool:
    """Every panel shows its whole image as large as the panel allows, right under its title:
    the view's range starts at the image's top row and is just the image along one axis,
    at the scale the panel's size in pixels gives (the range is current at once, the
    drawn geometry only after a paint)."""
    for panel in win.panels.panels.values():
        image = panel.rgb.image if panel.rgb.image is not None else panel.diff.image
        height, width = image.shape[:2]
        (x0, x1), (y0, y1) = panel.view.viewRange()
        scale = min(panel.view.width() / width, panel.view.height() / height)
        if abs(y0) > 0.01 or x0 > 0.01 or x1 < width - 0.01 or y1 < height - 0.01:
            return False
        if abs((x1 - x0) * scale - panel.view.width()) > 1.5:
            return False
        if abs((y1 - y0) * scale - panel.view.height()) > 1.5:
            return False
    return True


def test_fit_and_zoom_through_navigation_reload_and_resize(window, qtbot):
    window.resize(1500, 900)
    qtbot.waitUntil(lambda: _fitted(window))
    _wheel(window, "gan")
    assert window.panels.zoomed and not _fitted(window)
    zoomed = window.panels.panels["vae"].view.viewRange()
    # A zoom the user chose survives moving to another image, F5 and a resize.
    qtbot.keyClick(window.table_view, Qt.Key.Key_Right)
    assert window.current == 1 and np.allclose(window.panels.panels["vae"].view.viewRange(), zoomed)
    qtbot.keyClick(window, Qt.Key.Key_F5)
    assert np.allclose(window.panels.panels["vae"].view.viewRange(), zoomed, atol=0.01)
    # Fit: the button, F and Ctrl+0.
    window.fit_button.click()
    assert not window.panels.zoomed and _fitted(window)
    for keys in (
        (Qt.Key.Key_F, Qt.KeyboardModifier.NoModifier),
        (Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier),
    ):
        _wheel(window, "clean")
        assert not _fitted(window)
        qtbot.keyClick(window.table_view, keys[0], keys[1])
        assert _fitted(window), keys
    # Typing F in a text field types it.
    _wheel(window, "clean")
    qtbot.keyClicks(window.name_filter, "f")
    assert window.name_filter.text() == "f" and window.panels.zoomed
    window.name_filter.clear()
    window.fit_images()
    # Not zoomed: shrinking or growing the window refits the images, and so do new panels.
    for size in ((1280, 720), (900, 600), (1500, 900)):
        window.resize(*size)
        qtbot.waitUntil(lambda: _fitted(window))
    window.model_boxes["inpaint"].click()
    qtbot.waitUntil(lambda: _fitted(window))
    qtbot.keyClick(window.table_view, Qt.Key.Key_Right)
    assert _fitted(window)


def test_pixel_readout_follows_keyboard_navigation(window, qtbot, fake_run):
    test = read_test(fake_run)
    grid = window.panels
    view = grid.panels["gan"].view
    qtbot.mouseMove(grid.viewport(), grid.mapFromScene(view.sceneBoundingRect().center()))
    assert window.pixel_label.text().startswith("x ")
    x, y = (int(v) for v in window.pixel_label.text().split(" · ")[0][2:].split(", y "))
    window.table_view.setFocus()
    for index in (1, 2):
        qtbot.keyClick(window.table_view, Qt.Key.Key_Right)
        assert window.current == index
        r, g, b = test["clean"][index][y, x]
        assert f"clean ({r}, {g}, {b})" in window.pixel_label.text()
        assert window.pixel_label.text() == window.pixel_report(x, y)


def test_a_malformed_condition_filters_nothing(window, qtbot):
    window.condition.setText("vae.psnr > 1e9")
    assert window.table.rowCount() == 0 and window.filter_error.text() == ""
    window.condition.setText("vae.psnr > 1e9 and")  # half typed
    assert window.table.rowCount() == N_TEST  # not the 0 rows of the condition before
    error = window.filter_error.text()
    assert error.startswith("Condition not applied, showing every row:") and "cannot read" in error
    window.name_filter.setText("img0000")
    assert window.table.rowCount() == 10
    assert "showing every row matching the name filter" in window.filter_error.text()
    window.condition.setText("vae.psnr > 1e9")
    assert window.table.rowCount() == 0 and window.filter_error.text() == ""
    window.name_filter.clear()
    window.condition.clear()
    assert window.table.rowCount() == N_TEST
    # A condition naming a model that went away on reload: kept, named, not applied.
    window.condition.setText("gan.ssim < 2")
    window.run_path.joinpath("metrics", "gan.csv").unlink()
    window.run_path.joinpath("predictions", "gan.h5").unlink()
    window.reload()
    assert window.condition.text() == "gan.ssim < 2" and window.table.rowCount() == N_TEST
    assert "unknown model 'gan'" in window.filter_error.text()


def test_preset_label_resets_when_the_condition_changes(window, qtbot):
    texts = [window.presets.itemText(i) for i in range(window.presets.count())]
    preset = texts.index("GAN worse than VAE (SSIM)")

    def choose() -> None:
        window.presets.setCurrentIndex(preset)
        window.presets.activated.emit(preset)
        assert window.condition.text() == "gan.ssim < vae.ssim"
        assert window.presets.currentIndex() == preset

    choose()
    window.condition.clear()
    assert window.presets.currentIndex() == 0
    choose()
    window.condition.setFocus()
    qtbot.keyClick(window.condition, Qt.Key.Key_End)
    qtbot.keyClicks(window.condition, " and vae.psnr > 0")
    assert window.presets.currentIndex() == 0
    assert window.presets.currentText() == "Preset conditions…"


def _dark_pixels(image: np.ndarray, rect, limit: int = 90) -> int:
    left, top = max(int(rect.left()), 0), max(int(rect.top()), 0)
    crop = image[top : int(np.ceil(rect.bottom())), left : int(np.ceil(rect.right()))]
    return int((crop.mean(axis=2) < limit).sum())


@pytest.mark.parametrize("size", [(1500, 900), (1280, 720)])
def test_five_panels_titles_and_colour_bar_are_readable_and_aligned(qtbot, fake_run, size):
    win = ViewerWindow(fake_run, models=["vae", "gan", "inpaint"])
    qtbot.addWidget(win)
    win.resize(*size)
    win.set_diff_mode(True)
    win.show()
    qtbot.waitExposed(win)
    grid = win.panels
    assert len(grid.panels) == 5
    qtbot.wait(100)  # the layout settles
    shot = grid.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    pixels = np.frombuffer(shot.constBits().asstring(shot.sizeInBytes()), np.uint8)
    pixels = pixels.reshape(shot.height(), shot.bytesPerLine())[:, : 3 * shot.width()]
    pixels = pixels.reshape(shot.height(), shot.width(), 3)
    assert shot.width() == grid.width()

    def rect(item):
        return grid.mapFromScene(item.sceneBoundingRect()).boundingRect()

    # Titles: dark text on the white background (not pyqtgraph's grey), inside the window.
    for key, panel in grid.panels.items():
        title = rect(panel.plot.titleLabel)
        assert title.right() <= grid.width() and title.left() >= 0, key
        assert _dark_pixels(pixels, title, limit=60) > 20, key
    # The colour bar: the tick values and the label are drawn, dark, and not cut off.
    bar = grid.colorbar
    ticks, label = rect(bar.axis), rect(bar.getAxis("left"))
    assert ticks.width() >= 40 and ticks.right() <= grid.width()
    assert _dark_pixels(pixels, ticks.adjusted(8, 0, 0, 0)) > 50  # right of the tick marks
    assert _dark_pixels(pixels, label) > 50
    # Aligned: in each row the images have one size and one top, right under the titles.
    panels = list(grid.panels.values())
    for row in (panels[:3], panels[3:]):
        images = [
            p.rgb.sceneBoundingRect() if p.rgb.isVisible() else p.diff.sceneBoundingRect()
            for p in row
        ]
        titles = [p.plot.titleLabel.sceneBoundingRect() for p in row]
        assert max(i.top() for i in images) - min(i.top() for i in images) <= 1
        assert max(i.width() for i in images) - min(i.width() for i in images) <= 1
        for image, title in zip(images, titles):
            assert -0.5 <= image.top() - title.bottom() <= 3


# -- compare: swipe and flicker ---------------------------------------------------------------
def test_compare_state_rules():
    """The Qt-free rules: modes, divider, flicker steps, defaults, the swipe of two arrays."""
    state = CompareState()
    assert not state.active and state.mode == "off"
    assert [state.cycle() for _ in range(3)] == ["swipe", "flicker", "off"]
    with pytest.raises(ValueError, match="unknown compare mode 'blink'"):
        state.set_mode("blink")
    state.set_divider(1.7)
    assert state.divider == 1.0
    state.set_divider(-1)
    assert state.divider == 0.0
    assert [split_column(f, 24) for f in (0, 0.25, 0.5, 1)] == [0, 6, 12, 24]
    state.set_divider(0.75)
    state.nudge(-1)
    assert state.divider == pytest.approx(0.7)
    state.nudge(1)
    state.nudge(1)
    assert state.divider == pytest.approx(0.9)
    state.fit_to(["damaged", "clean", "vae", "gan"])
    assert (state.a, state.b) == ("vae", "clean")
    state.set_mode("flicker")
    assert state.shown == "vae" and state.flick() == "clean" and state.flick() == "vae"
    state.swap()
    assert (state.a, state.b) == ("clean", "vae")
    state.fit_to(["damaged", "clean", "gan"])  # vae's panel went away: clean stays
    assert (state.a, state.b) == ("clean", "gan")
    state.fit_to(["damaged", "clean"])
    assert (state.a, state.b) == ("clean", "damaged")
    a, b = np.zeros((4, 10, 3), np.uint8), np.full((4, 10, 3), 200, np.uint8)
    out = swipe(a, b, 0.3)
    assert (out[:, :3] == 0).all() and (out[:, 3:] == 200).all()
    panels = ["damaged", "clean", "vae", "gan"]
    assert parse_pair("gan,clean", panels) == ("gan", "clean")
    for text, message in [
        ("gan", "give two panels as A,B"),
        ("gan,vea", "the run has no panel 'vea' (available: damaged, clean, vae, gan)"),
        ("gan,gan", "A and B are the same panel"),
    ]:
        with pytest.raises(ValueError, match=re.escape(message)):
            parse_pair(text, panels)


def _pixel_at(win: ViewerWindow, pixels: np.ndarray, x: int, y: int) -> np.ndarray:
    """The colour drawn at the centre of image pixel (x, y) in the compare view's grab."""
    compare = win.compare_view
    scene = compare.view.mapViewToScene(QPointF(x + 0.5, y + 0.5))
    point = compare.mapFromScene(scene) + compare.viewport().pos()
    return pixels[point.y(), point.x()].astype(int)


def _compare_window(qtbot, fake_run) -> ViewerWindow:
    win = ViewerWindow(fake_run)
    qtbot.addWidget(win)
    win.resize(1280, 720)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow)
    return win


def test_swipe_shows_a_left_and_b_right_on_screen(qtbot, fake_run):
    """Real pixels: left of the divider the grab shows A's colours, right of it B's."""
    win = _compare_window(qtbot, fake_run)
    gan, clean = read_prediction(fake_run, "gan", 0), read_test(fake_run)["clean"][0]
    win.set_compare_pair("gan", "clean")
    win.set_compare_mode("swipe")
    assert win.view_stack.currentWidget() is win.compare_view
    for divider in (0.25, 0.5, 0.75):
        win.set_divider(divider)
        split = round(divider * SIZE)
        # The image items hold exactly each side's columns, where they are in the image.
        left, right = (win.compare_view.sides[s][0] for s in ("left", "right"))
        assert np.array_equal(left.image, gan[:, :split]) and left.pos().x() == 0
        assert np.array_equal(right.image, clean[:, split:]) and right.pos().x() == split
        assert win.compare_view.line.value() == split
        qtbot.wait(50)  # painted
        pixels = grab_pixels(win.compare_view)
        checked = 0
        # Away from the divider line (and its labels near the top).
        for y in range(SIZE // 3, SIZE, 3):
            for x in [*range(0, split - 1, 2), *range(split + 1, SIZE, 2)]:
                expected, other = (gan, clean) if x < split else (clean, gan)
                drawn = _pixel_at(win, pixels, x, y)
                assert np.abs(drawn - expected[y, x]).max() <= 2, (divider, x, y)
                if np.abs(expected[y, x].astype(int) - other[y, x]).max() > 10:
                    checked += 1  # there, A and B differ: the drawn colour tells them apart
        assert checked > 10
    title = win.compare_view.title_text()
    assert "A (left): GAN" in title and "B (right): clean" in title
    assert f"SSIM {read_metric(fake_run, 'gan', 'ssim')[0]:.4f}" in title


def test_flicker_alternates_by_its_timer_and_by_hand(qtbot, fake_run):
    """The timer's slot shows the other one each tick (driven by hand: no waiting)."""
    win = _compare_window(qtbot, fake_run)
    gan, vae = read_prediction(fake_run, "gan", 0), read_prediction(fake_run, "vae", 0)
    win.set_compare_pair("gan", "vae")
    win.set_compare_mode("flicker")
    assert win.flicker_timer.isActive() and win.flicker_timer.interval() == 500
    left = win.compare_view.sides["left"][0]
    assert not win.compare_view.line.isVisible()
    assert not win.compare_view.sides["right"][0].isVisible()
    differs = np.argwhere(np.abs(gan.astype(int) - vae).max(axis=2) > 20)
    y, x = (int(v) for v in differs[len(differs) // 2])
    for expected, name, other in [(vae, "B: VAE", "A: GAN"), (gan, "A: GAN", "B: VAE")] * 2:
        win.flicker_timer.timeout.emit()  # one tick
        assert np.array_equal(left.image, expected)
        assert f"showing {name}" in win.compare_view.title_text()
        assert f"{other} (next)" in win.compare_view.title_text()
        qtbot.wait(20)
        drawn = _pixel_at(win, grab_pixels(win.compare_view), x, y)
        assert np.abs(drawn - expected[y, x]).max() <= 2
    # Space steps by hand and pauses the flicker; P starts it again.
    qtbot.keyClick(win.table_view, Qt.Key.Key_Space)
    assert not win.flicker_timer.isActive() and not win.auto_box.isChecked()
    assert win.compare.showing == "b" and np.array_equal(left.image, vae)
    win.step_button.click()
    assert win.compare.showing == "a" and np.array_equal(left.image, gan)
    qtbot.keyClick(win.table_view, Qt.Key.Key_P)
    assert win.flicker_timer.isActive() and win.auto_box.isChecked()
    # Leaving the flicker stops the timer; a tick then changes nothing.
    win.set_compare_mode("off")
    assert not win.flicker_timer.isActive()
    win.flick()
    assert win.compare.showing == "a"


def test_compare_follows_navigation_and_the_difference_view(qtbot, fake_run):
    win = _compare_window(qtbot, fake_run)
    test = read_test(fake_run)
    win.set_compare_pair("gan", "clean")
    win.set_compare_mode("swipe")
    win.set_divider(0.5)
    sides = win.compare_view.sides
    win.table_view.setFocus()
    for index in (1, 2):
        qtbot.keyClick(win.table_view, Qt.Key.Key_Right)
        assert win.current == index and win.compare.mode == "swipe"
        assert np.array_equal(
            sides["left"][0].image, read_prediction(fake_run, "gan", index)[:, :12]
        )
        assert np.array_equal(sides["right"][0].image, test["clean"][index][:, 12:])
        assert f"#{index}" in win.compare_view.title_text()
    # The difference view compares the heatmaps (the clean reference stays an image).
    qtbot.keyClick(win.table_view, Qt.Key.Key_D)
    gan = read_prediction(fake_run, "gan", 2).astype(float)
    heat = np.abs(gan - test["clean"][2].astype(float)).mean(axis=2)
    left_rgb, left_diff = sides["left"]
    assert left_diff.isVisible() and not left_rgb.isVisible()
    assert np.allclose(left_diff.image, heat[:, :12], atol=1e-4)
    assert sides["right"][0].isVisible() and not sides["right"][1].isVisible()
    win.set_compare_pair(None, "vae")
    vae = read_prediction(fake_run, "vae", 2).astype(float)
    vae_heat = np.abs(vae - test["clean"][2].astype(float)).mean(axis=2)
    assert np.allclose(sides["right"][1].image, vae_heat[:, 12:], atol=1e-4)
    # One colour scale with the panels; dragging the compare view's bar sets the panels'.
    assert tuple(win.compare_view.colorbar.levels()) == pytest.approx(win.panels.levels())
    assert tuple(sides["right"][1].getLevels()) == pytest.approx(win.panels.levels())
    assert win.compare_view.colorbar.isVisible()
    win.compare_view.colorbar.setLevels((0, 40))
    win.compare_view.colorbar.sigLevelsChanged.emit(win.compare_view.colorbar)
    assert tuple(win.panels.levels()) == (0, 40)
    # A reload keeps the comparison.
    qtbot.keyClick(win, Qt.Key.Key_F5)
    assert win.compare.mode == "swipe" and (win.compare.a, win.compare.b) == ("gan", "vae")
    assert win.current == 2 and win.view_stack.currentWidget() is win.compare_view


def _contains(outer, inner, tolerance: float = 0.05) -> bool:
    (ox0, ox1), (oy0, oy1) = outer
    (ix0, ix1), (iy0, iy1) = inner
    return (
        ox0 <= ix0 + tolerance
        and ox1 >= ix1 - tolerance
        and oy0 <= iy0 + tolerance
        and oy1 >= iy1 - tolerance
    )


def _centre(view_range) -> np.ndarray:
    return np.array([sum(view_range[0]) / 2, sum(view_range[1]) / 2])


def test_linked_views_of_any_shape_show_the_whole_region(qtbot):
    """RegionViewBox: a wide and a tall view linked both ways (a panel under a title of
    three lines, the compare view) each show all of the region asked for, centred alike,
    and resizing either, again and again, never changes that region."""
    import pyqtgraph as pg

    from viewer.image_plot import RegionViewBox, image_plot

    widgets, views = [], []
    for size in ((400, 200), (200, 400)):  # wide, tall
        widget = pg.GraphicsLayoutWidget()
        qtbot.addWidget(widget)
        widget.resize(*size)
        views.append(image_plot(widget.addPlot(viewBox=RegionViewBox())))
        widget.show()
        widgets.append(widget)
    qtbot.waitExposed(widgets[1])
    views[1].setXLink(views[0])
    views[1].setYLink(views[0])
    region = ((2, 8), (10, 16))

    def each_shows_the_region() -> None:
        for view in views:
            assert _contains(view.viewRange(), region, tolerance=1e-6), view.viewRange()
            assert np.allclose(_centre(view.viewRange()), (5, 13))
            assert np.allclose(view.targetRange(), region)

    for asked in views:
        asked.setRange(xRange=region[0], yRange=region[1], padding=0)
        each_shows_the_region()
        for sizes in (((300, 260), (260, 500)), ((200, 400), (400, 200))) * 3:
            for widget, size in zip(widgets, sizes):
                widget.resize(*size)
            qtbot.wait(5)
            each_shows_the_region()


def test_compare_view_is_linked_to_the_panels_zoom(qtbot, fake_run):
    """Zooming the compare view moves the panels (and counts as the user's zoom), and the
    other way round; Fit shows the whole image in the compare view."""
    win = _compare_window(qtbot, fake_run)
    win.set_compare_mode("swipe")
    compare = win.compare_view.view
    qtbot.waitUntil(lambda: compare.width() > 300)
    # Fitted: the whole image, as large as the compare view allows, at the top.
    (x0, x1), (y0, y1) = compare.viewRange()
    assert abs(y0) < 0.01 and x0 <= 0.01 and x1 >= SIZE - 0.01 and y1 >= SIZE - 0.01
    assert min(x1 - x0, y1 - y0) == pytest.approx(SIZE, abs=0.05)
    # A wheel zoom over the compare view, as a user does.
    pos = win.compare_view.mapFromScene(compare.sceneBoundingRect().center())
    event = QWheelEvent(
        QPointF(pos),
        QPointF(win.compare_view.viewport().mapToGlobal(pos)),
        QPoint(0, 0),
        QPoint(0, 240),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(win.compare_view.viewport(), event)
    zoomed = compare.viewRange()
    assert win.panels.zoomed and zoomed[0][1] - zoomed[0][0] < SIZE * 0.9
    for panel in win.panels.panels.values():  # every panel shows that region
        assert _contains(panel.view.viewRange(), zoomed)
        assert np.allclose(_centre(panel.view.viewRange()), _centre(zoomed), atol=0.05)
    # Kept through navigation, and when the grid comes back.
    qtbot.keyClick(win.table_view, Qt.Key.Key_Right)
    assert np.allclose(compare.viewRange(), zoomed)
    win.set_compare_mode("off")
    assert win.view_stack.currentWidget() is win.panels
    assert _contains(win.panels.panels["gan"].view.viewRange(), zoomed)
    # Panning a panel moves the compare view too.
    win.panels.panels["vae"].view.setRange(xRange=(2, 8), yRange=(10, 16), padding=0)
    win.set_compare_mode("swipe")
    assert _contains(compare.viewRange(), ((2, 8), (10, 16)))
    assert np.allclose(_centre(compare.viewRange()), (5, 13), atol=0.05)
    # Fit (F) while comparing: the whole image again, in the compare view and the panels.
    qtbot.keyClick(win.table_view, Qt.Key.Key_F)
    assert not win.panels.zoomed
    (x0, x1), (y0, y1) = compare.viewRange()
    assert abs(y0) < 0.01 and min(x1 - x0, y1 - y0) == pytest.approx(SIZE, abs=0.05)
    win.set_compare_mode("off")
    qtbot.waitUntil(lambda: _fitted(win))


def test_compare_keys_and_controls(qtbot, fake_run):
    win = _compare_window(qtbot, fake_run)
    win.table_view.setFocus()
    # C cycles off -> swipe -> flicker -> off; the grid comes back.
    modes = []
    for _ in range(3):
        qtbot.keyClick(win.table_view, Qt.Key.Key_C)
        modes.append((win.compare.mode, win.compare_mode_box.currentData()))
    assert modes == [("swipe", "swipe"), ("flicker", "flicker"), ("off", "off")]
    assert win.view_stack.currentWidget() is win.panels
    # Typing C in a text field types it.
    qtbot.keyClicks(win.name_filter, "c")
    assert win.name_filter.text() == "c" and win.compare.mode == "off"
    win.name_filter.clear()
    # A and B list the panels shown; the defaults: the first model against clean.
    choices = [win.compare_a.itemData(i) for i in range(win.compare_a.count())]
    assert choices == ["damaged", "clean", "vae", "gan"]
    assert (win.compare.a, win.compare.b) == ("vae", "clean")
    assert win.compare_a.currentText() == "VAE" and win.compare_b.currentText() == "clean"
    win.compare_mode_box.setCurrentIndex(win.compare_mode_box.findData("swipe"))
    assert win.compare.mode == "swipe"
    # Choosing for A what B shows swaps them; the swap button too.
    index = win.compare_a.findData("clean")
    win.compare_a.setCurrentIndex(index)
    win.compare_a.activated.emit(index)
    assert (win.compare.a, win.compare.b) == ("clean", "vae")
    win.swap_button.click()
    assert (win.compare.a, win.compare.b) == ("vae", "clean")
    # The divider: the slider, dragging the line, [ and ].
    win.divider_slider.setValue(30)
    assert win.compare.divider == pytest.approx(0.3) and win.divider_label.text() == "30 %"
    assert win.compare_view.line.value() == split_column(0.3, SIZE)
    win.compare_view.line.setValue(18)  # what a drag of the line does
    assert win.compare.divider == pytest.approx(0.75) and win.divider_slider.value() == 75
    # The sides stay named beside the moved divider.
    assert win.compare_view.outline.label.toPlainText() == "◀ A: VAE "
    assert win.compare_view.line.label.toPlainText() == " B: clean ▶"
    assert win.compare_view.sides["right"][0].pos().x() == 18
    qtbot.keyClick(win.table_view, Qt.Key.Key_BracketLeft)
    assert win.compare.divider == pytest.approx(0.7)
    qtbot.keyClick(win.table_view, Qt.Key.Key_BracketRight)
    assert win.compare.divider == pytest.approx(0.8) and win.divider_slider.value() == 80
    # Only the controls of the mode are shown.
    assert win.divider_slider.isVisible() and not win.step_button.isVisible()
    # Unticking a compared model: A falls back to a panel still shown.
    win.model_boxes["vae"].click()
    assert (win.compare.a, win.compare.b) == ("gan", "clean")
    assert win.compare_a.currentText() == "GAN"
    # The export saves what is on screen: the compare view.
    png = win.export_png(fake_run / "compare.png")
    assert QImage(str(png)).size() == win.compare_view.size()


@pytest.mark.parametrize("size", [(1280, 720), (1500, 900)])
def test_compare_view_leaves_table_and_summary_on_screen(qtbot, fake_run, size):
    win = ViewerWindow(fake_run)
    qtbot.addWidget(win)
    win.resize(*size)
    win.set_compare_mode("swipe")
    win.show()
    qtbot.waitExposed(win)
    qtbot.wait(50)
    view, summary = win.table_view, win.summary
    assert view.horizontalScrollBar().maximum() == 0
    last = win.table.columnCount() - 1
    assert view.columnViewportPosition(last) + view.columnWidth(last) <= view.viewport().width()
    assert summary.horizontalScrollBar().maximum() == 0
    assert summary.verticalScrollBar().maximum() == 0
    assert win.compare_view.width() >= 500 and win.compare_view.height() >= 400
    # The title and the whole compare bar are inside the window.
    title = win.compare_view.plot.titleLabel.sceneBoundingRect()
    assert title.right() <= win.compare_view.width()
    for widget in (win.compare_mode_box, win.compare_b, win.divider_label):
        right = widget.mapTo(win, QPoint(widget.width(), 0)).x()
        assert right <= win.splitter.sizes()[0] + 8, widget


def test_a_window_is_freed_when_its_last_reference_goes(qtbot, fake_run):
    """No slot keeps the window in a reference cycle (slots are bound methods, not lambdas
    holding ``self``), so it is destroyed when dropped, never later by the cyclic garbage
    collector at an arbitrary moment, e.g. while Qt delivers one of its events (a crash)."""
    gc.collect()
    gc.disable()
    try:
        win = ViewerWindow(fake_run)
        win.show()
        win.model_boxes["inpaint"].click()
        win.set_compare_pair("gan", "inpaint")
        for mode in ("swipe", "flicker", "off"):
            win.set_compare_mode(mode)
        win.step(1)
        win.close()
        ref = weakref.ref(win)
        del win
        assert ref() is None
    finally:
        gc.enable()
