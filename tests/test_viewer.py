"""The viewer window (pytest-qt, offscreen): loading, table, navigation, zoom, difference view,
exports, partial and broken runs, reload."""

from __future__ import annotations

import csv
import shutil

import h5py
import numpy as np
import pytest
from PIL import Image
from PyQt6.QtCore import Qt
from viewer_fixtures import N_TEST, SIZE, read_metric, read_test, small_run

from bench.fakerun import make_fake_run
from viewer.window import RELOAD_DELAY_MS, ViewerWindow


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
    assert window.table.rowCount() == N_TEST and window.table.columnCount() == 2 + 4 * 4
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
    column = window.table.headers().index("GAN SSIM")
    window.table_view.sortByColumn(column, Qt.SortOrder.DescendingOrder)
    ssim = read_metric(fake_run, "gan", "ssim")
    order = list(window.table.order)
    assert sorted(ssim, reverse=True) == list(ssim[order])
    shown_text = [window.table.data(window.table.index(r, column)) for r in range(3)]
    assert shown_text == [f"{v:.4f}" for v in ssim[order[:3]]]
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
    column = window.table.headers().index("VAE MSE")
    window.table_view.sortByColumn(column, Qt.SortOrder.AscendingOrder)
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
        f"{m}_{k}"
        for m in ("vae", "gan", "inpaint", "damaged")
        for k in ("mse", "nrmse", "ssim", "psnr")
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
    assert win.table.headers()[2:] == ["VAE MSE", "VAE NRMSE", "VAE SSIM", "VAE PSNR (dB)"] + [
        "damaged MSE",
        "damaged NRMSE",
        "damaged SSIM",
        "damaged PSNR (dB)",
    ]
    assert "metrics/*.csv" in win.summary_label.text() and win.summary.rowCount() == 2
    win.step(1)
    assert win.current == 1


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
    assert "GAN SSIM" not in win.table.headers()
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
    qtbot.waitUntil(
        lambda: win.panels.panels["gan"].rgb.image is not None, timeout=5 * RELOAD_DELAY_MS + 5000
    )
    assert win.current == 3  # the same image stays on screen
    # A dataset being rewritten (here: truncated) gives a message, not a crash, and recovers.
    data = (run / "dataset.h5").read_bytes()
    (run / "dataset.h5").unlink()
    (run / "dataset.h5").write_bytes(data[:200])
    qtbot.waitUntil(lambda: "dataset.h5" in win.banner.text(), timeout=5000)
    assert win.table.rowCount() == 0
    (run / "dataset.h5").unlink()
    (run / "dataset.h5").write_bytes(data)
    qtbot.waitUntil(lambda: win.table.rowCount() == 6, timeout=5000)
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
    assert "gan_lr2e4 SSIM" in win.table.headers()


def test_asking_for_a_model_the_run_lacks_says_so(qtbot, fake_run):
    win = ViewerWindow(fake_run, models=["gan", "gam"])
    qtbot.addWidget(win)
    assert (
        "panels asked for: the run has no model 'gam' (available: vae, gan, inpaint)"
        in win.problems
    )
    assert not win.banner.isHidden() and "'gam'" in win.banner.text()
    assert list(win.panels.panels) == ["damaged", "clean", "gan"]
