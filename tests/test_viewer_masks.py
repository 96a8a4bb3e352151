"""Damage-aware viewing (pytest-qt, offscreen): the mask overlay and its modes, region scores
in the table, titles and conditions, the filter by damaged-share bucket."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest
from PIL import Image
from PyQt6.QtCore import QPoint, Qt
from viewer_fixtures import (
    HANG_S,
    N_TEST,
    REPO,
    SIZE,
    grab_pixels,
    read_mask,
    read_mask_score,
    read_metric,
    read_test,
    screenshot_loading_none,
    set_scores,
    small_run,
)

from bench.fakerun import make_fake_run
from restorebench import contract
from restorebench.data.masks import recover_mask
from restorebench.scoring.metrics import read_metrics
from restorebench.scoring.summary import by_mask_share, write_csv
from viewer.conditions import evaluate
from viewer.overlay import COLOURS, FOUND, OFF, OPACITY, TRUE, lookup_table, mask_kind, next_mode
from viewer.runfiles import Run
from viewer.window import ViewerWindow

# Inner edges of the damaged-share buckets written for the tests: the small run's shares
# (0.05 to 0.33) fall in all three buckets, 0-10 %, 10-20 % and 20 % and more.
EDGES = [0.1, 0.2]


@pytest.fixture
def fake_run(tmp_path):
    return small_run(tmp_path)


def open_window(qtbot, run, size=(1500, 900)) -> ViewerWindow:
    win = ViewerWindow(run)
    qtbot.addWidget(win)
    win.resize(*size)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()  # its shortcuts (M) need an active window
    qtbot.waitUntil(win.isActiveWindow)
    return win


def write_buckets(run) -> None:
    """summary_buckets.csv as the summarize rule writes it, from the run's metric files."""
    tables = {m: read_metrics(run / "metrics" / f"{m}.csv")[1] for m in ("vae", "gan")}
    buckets = by_mask_share(tables, EDGES, resamples=20)
    write_csv(run / "summary_buckets.csv", buckets, contract.BUCKET_FIELDS)


def shown_mask(win: ViewerWindow, key: str) -> np.ndarray | None:
    """The mask a panel draws over its image, or None when it draws none."""
    item = win.panels.panels[key].mask
    return item.image if item.isVisible() else None


def title(win: ViewerWindow, key: str) -> str:
    return win.panels.panels[key].plot.titleLabel.text


def test_overlay_rules():
    assert [next_mode(m) for m in (OFF, TRUE, FOUND)] == [TRUE, FOUND, OFF]
    assert mask_kind(OFF, "gan", True) is None
    assert [mask_kind(TRUE, k, False) for k in ("damaged", "clean", "vae")] == [TRUE] * 3
    # Found: a model's own mask, or none; the fixed panels keep the truth as reference.
    assert mask_kind(FOUND, "gan", True) == FOUND and mask_kind(FOUND, "vae", False) is None
    assert mask_kind(FOUND, "clean", False) == TRUE
    with pytest.raises(ValueError, match="unknown mask overlay 'on'"):
        mask_kind("on", "gan", True)
    table = lookup_table(TRUE)
    assert table.shape == (256, 4) and table[0, 3] == 0  # no damage: the image untouched
    assert table[255, 3] == round(255 * OPACITY) and tuple(table[255, :3]) == COLOURS[TRUE]
    assert tuple(lookup_table(FOUND)[255, :3]) != COLOURS[TRUE]  # found never looks true


def test_the_true_mask_overlay_toggles_and_follows_navigation(qtbot, fake_run):
    win = open_window(qtbot, fake_run)
    truth = read_mask(fake_run)
    keys = list(win.panels.panels)
    assert win.mask_mode == OFF and all(shown_mask(win, k) is None for k in keys)
    assert win.mask_actions[OFF].isChecked()
    win.table_view.setFocus()
    qtbot.keyClick(win.table_view, Qt.Key.Key_M)
    assert win.mask_mode == TRUE and win.mask_button.text() == "Mask (M): true"
    assert win.mask_actions[TRUE].isChecked() and not win.mask_actions[OFF].isChecked()
    for key in keys:  # every panel: 255 where dataset.h5's mask says damaged, 0 elsewhere
        assert np.array_equal(shown_mask(win, key), truth[0] * 255), key
    # It follows the image: next, previous, and a jump through the table.
    for key_press, index in ((Qt.Key.Key_Right, 1), (Qt.Key.Key_Right, 2), (Qt.Key.Key_Left, 1)):
        qtbot.keyClick(win.table_view, key_press)
        assert win.current == index
        assert all(np.array_equal(shown_mask(win, k), truth[index] * 255) for k in keys)
    win.go_to_row(win.table.row_of(7))
    assert np.array_equal(shown_mask(win, "gan"), truth[7] * 255)
    # Kept through the difference view, a new panel and a reload.
    win.set_diff_mode(True)
    assert np.array_equal(shown_mask(win, "vae"), truth[7] * 255)
    win.set_diff_mode(False)
    win.choose_model("inpaint", True)
    assert np.array_equal(shown_mask(win, "inpaint"), truth[7] * 255)
    win.reload()
    assert win.mask_mode == TRUE and np.array_equal(shown_mask(win, "clean"), truth[7] * 255)
    # The menu's actions (also the button's menu) set it; a click on the button cycles.
    assert win.mask_button.menu().actions() == list(win.mask_actions.values())
    win.mask_actions[OFF].trigger()
    assert win.mask_mode == OFF and win.mask_button.text() == "Mask (M): off"
    assert all(shown_mask(win, k) is None for k in win.panels.panels)
    win.mask_actions[FOUND].trigger()
    assert win.mask_mode == FOUND and win.mask_button.text() == "Mask (M): found"
    win.mask_button.click()
    assert win.mask_mode == OFF and win.mask_actions[OFF].isChecked()
    assert shown_mask(win, "clean") is None


def test_a_models_own_mask_shows_where_it_has_one(qtbot, fake_run):
    win = open_window(qtbot, fake_run)
    win.choose_model("inpaint", True)
    truth = read_mask(fake_run)
    found = {m: read_mask(fake_run, m) for m in ("gan", "inpaint")}
    assert len(np.unique(found["gan"])) > 2  # gan's is soft, inpaint's hard: both drawn as stored
    win.set_mask_mode(FOUND)
    for index in (0, 1):
        win.show_index(index)
        for model in ("gan", "inpaint"):
            assert np.array_equal(shown_mask(win, model), found[model][index])
            assert win.panels.overlays[model].kind == FOUND
            iou = read_mask_score(fake_run, model, "mask_iou")[index]
            assert "(found mask)" in title(win, model) and f"mask IoU {iou:.3f}" in title(
                win, model
            )
        # VAE stores no mask: no overlay, and its title says so.
        assert shown_mask(win, "vae") is None and "(no found mask)" in title(win, "vae")
        for key in ("damaged", "clean"):  # the reference to compare with
            assert np.array_equal(shown_mask(win, key), truth[index] * 255)
            assert win.panels.overlays[key].kind == TRUE and "(true mask)" in title(win, key)
    win.set_mask_mode(TRUE)  # the true damage everywhere, no notes
    assert np.array_equal(shown_mask(win, "gan"), truth[1] * 255)
    assert "(found mask)" not in title(win, "gan") and "mask IoU" not in title(win, "gan")


def test_the_overlay_in_the_swipe_and_the_flicker(qtbot, fake_run):
    win = open_window(qtbot, fake_run, (1280, 720))
    truth, found = read_mask(fake_run)[0] * 255, read_mask(fake_run, "gan")[0]
    win.set_compare_pair("gan", "clean")
    win.set_compare_mode("swipe")
    win.set_divider(0.25)
    win.set_mask_mode(FOUND)
    split = round(0.25 * SIZE)
    masks = win.compare_view.masks
    assert np.array_equal(masks["left"].image, found[:, :split]) and masks["left"].pos().x() == 0
    assert np.array_equal(masks["right"].image, truth[:, split:])
    assert masks["right"].pos().x() == split
    win.set_divider(0.75)  # the overlay follows the divider
    assert masks["left"].image.shape[1] == round(0.75 * SIZE)
    win.set_diff_mode(True)  # over the heatmaps too
    assert masks["left"].isVisible() and np.array_equal(masks["right"].image, truth[:, 18:])
    win.set_compare_mode("flicker")
    assert np.array_equal(masks["left"].image, found) and not masks["right"].isVisible()
    win.flick()
    assert np.array_equal(masks["left"].image, truth)
    win.next_image()
    assert np.array_equal(masks["left"].image, read_mask(fake_run)[1] * 255)
    win.set_mask_mode(OFF)
    assert not masks["left"].isVisible() and not masks["right"].isVisible()


def test_a_run_without_stored_masks_gets_recovered_ones(qtbot, fake_run):
    truth = read_mask(fake_run) > 0
    with h5py.File(fake_run / "dataset.h5", "r+", locking=False) as file:
        del file["test"]["mask"]
    test = read_test(fake_run)
    win = open_window(qtbot, fake_run)
    assert win.problems == [] and win.run.mask_recovered
    win.set_mask_mode(TRUE)
    assert win.mask_button.text() == "Mask (M): recovered"
    assert "recovered from the pairs" in win.mask_actions[TRUE].text()
    for index in (0, 3):
        win.show_index(index)
        recovered = recover_mask(test["clean"][index], test["damaged"][index])
        assert np.array_equal(shown_mask(win, "gan"), recovered * 255)
        # The white paint is found again: most of the true damage, little else.
        overlap = (recovered & truth[index]).sum() / (recovered | truth[index]).sum()
        assert overlap > 0.6, overlap


def test_an_unusable_stored_mask_is_named_and_recovered_instead(fake_run):
    with h5py.File(fake_run / "dataset.h5", "r+", locking=False) as file:
        del file["test"]["mask"]
        file["test"]["mask"] = np.zeros((N_TEST, SIZE, SIZE - 1), np.uint8)
    test = read_test(fake_run)
    with Run(fake_run) as run:
        assert run.mask_recovered
        assert any(
            "test/mask is uint8 (12, 24, 23), expected uint8 (12, 24, 24)" in p
            for p in run.problems
        )
        recovered = recover_mask(test["clean"][2], test["damaged"][2])
        assert np.array_equal(run.true_mask(2), recovered)
        assert run.has_found_mask("gan") and not run.has_found_mask("vae")
        assert run.found_mask("vae", 0) is None


def test_region_scores_in_the_table_titles_and_conditions(qtbot, fake_run):
    set_scores(fake_run, "gan", {(0, "hole_psnr"): "nan", (1, "intact_psnr"): "inf"})
    win = open_window(qtbot, fake_run)
    assert win.problems == []  # a missing region score is no impossible one
    boxed = [win.metric_box.itemData(i) for i in range(win.metric_box.count())]
    assert boxed == list(contract.metric_names())  # every metric, regions and mask_share too
    win.set_metric("hole_psnr")
    gan = win.table.column_of("gan")
    cell = win.table.index(win.table.row_of(0), gan)
    assert (
        win.table.data(cell) == "-" and win.table.data(cell, Qt.ItemDataRole.BackgroundRole) is None
    )
    assert "damaged PSNR (dB) -" in title(win, "gan") and "nan" not in title(win, "gan")
    vae = read_metric(fake_run, "vae", "hole_psnr")
    assert f"damaged PSNR (dB) {vae[0]:.2f}" in title(win, "vae")
    # Sorting by a region score: NaN last either way.
    win.table_view.sortByColumn(gan, Qt.SortOrder.DescendingOrder)
    hole = read_metric(fake_run, "gan", "hole_psnr")
    assert list(win.table.order[:-1]) == list(np.argsort(-hole[1:], kind="stable") + 1)
    assert win.table.order[-1] == 0
    win.set_metric("intact_psnr")
    assert win.table.data(win.table.index(win.table.row_of(1), gan)) == "inf"
    win.show_index(1)
    # Titles stay short: the whole-image scores and the chosen one, not every region's.
    assert "intact PSNR (dB) inf" in title(win, "gan") and "damaged PSNR" not in title(win, "gan")
    assert "damaged SSIM" not in title(win, "gan") and "intact MAE" not in title(win, "gan")
    assert f"SSIM {read_metric(fake_run, 'gan', 'ssim')[1]:.4f}" in title(win, "gan")
    inpaint = read_metric(fake_run, "inpaint", "hole_psnr")
    # A condition on region scores, and on the damaged share (bare or through a model).
    win.condition.setText("gan.hole_psnr > inpaint.hole_psnr")
    expected = np.flatnonzero(hole > inpaint)  # NaN compares False: row 0 is out
    assert list(np.sort(win.table.order)) == list(expected) and win.filter_error.text() == ""
    share = read_metric(fake_run, "gan", "mask_share")
    for condition in ("mask_share >= 0.15", "GAN.mask_share >= 0.15"):
        win.condition.setText(condition)
        assert list(np.sort(win.table.order)) == list(np.flatnonzero(share >= 0.15))
    iou = read_mask_score(fake_run, "inpaint", "mask_iou")
    win.condition.setText(f"inpaint.mask_iou < {np.median(iou)}")
    assert list(np.sort(win.table.order)) == list(np.flatnonzero(iou < np.median(iou)))
    win.condition.setText("hole_psnr > 20")
    assert "nor a property of the image (mask_share)" in win.filter_error.text()


def test_conditions_on_region_scores_and_image_properties():
    scores = {
        "gan": {
            "hole_psnr": np.array([20.0, math.nan, 30.0]),
            "mask_share": np.array([0.1, 0.3, 0.2]),
        },
        "vae": {"hole_psnr": np.array([25.0, 10.0, 25.0]), "mask_share": np.array([0.1, 0.3, 0.2])},
    }
    assert evaluate("gan.hole_psnr > vae.hole_psnr", scores, 3).tolist() == [False, False, True]
    assert evaluate("mask_share >= 0.2", scores, 3).tolist() == [False, True, True]
    assert evaluate("0.2 > mask_share or gan.hole_psnr > 25", scores, 3).tolist() == [
        True,
        False,
        True,
    ]
    with pytest.raises(ValueError, match="no model's scores hold it"):
        evaluate("mask_share > 0", {"gan": {"ssim": np.ones(3)}}, 3)


def test_the_bucket_filter_keeps_exactly_its_images(qtbot, fake_run):
    write_buckets(fake_run)
    win = open_window(qtbot, fake_run, (1280, 720))
    share = read_metric(fake_run, "gan", "mask_share")
    bounds = [(0.0, 0.1), (0.1, 0.2), (0.2, math.inf)]
    choices = [win.bucket_box.itemText(i) for i in range(win.bucket_box.count())]
    counts = [int(np.count_nonzero((share >= lo) & (share < hi))) for lo, hi in bounds]
    assert choices == [f"all ({N_TEST})"] + [
        f"{name} ({n})" for name, n in zip(("0%-10%", "10%-20%", "20%+"), counts)
    ]
    assert all(counts)  # every bucket holds images: each choice is a real test
    for i, (low, high) in enumerate(bounds, start=1):
        win.bucket_box.setCurrentIndex(i)
        expected = np.flatnonzero((share >= low) & (share < high))
        assert list(np.sort(win.table.order)) == list(expected)
        assert win.current in expected and win.count_label.text() == f"{len(expected)} of {N_TEST}"
    # With a condition: both apply.
    win.set_bucket("10%-20%")
    ssim = read_metric(fake_run, "gan", "ssim")
    win.condition.setText(f"gan.ssim > {np.median(ssim)}")
    middle = (share >= 0.1) & (share < 0.2)
    assert list(np.sort(win.table.order)) == list(np.flatnonzero(middle & (ssim > np.median(ssim))))
    # Sorted by the damaged share.
    win.condition.clear()
    win.set_bucket(None)
    win.set_metric("mask_share")
    win.table_view.sortByColumn(win.table.column_of("vae"), Qt.SortOrder.AscendingOrder)
    assert list(win.table.order) == list(np.argsort(share, kind="stable"))
    # A reload keeps the bucket; a name the run lacks is an error that lists its buckets.
    win.set_bucket("20%+")
    win.reload()
    assert win.bucket_box.currentText().startswith("20%+") and len(win.table.order) == counts[2]
    with pytest.raises(
        ValueError, match=r"no bucket '5%-9%' \(the run has: 0%-10%, 10%-20%, 20%\+\)"
    ):
        win.set_bucket("5%-9%")
    # At 1280x720 the new controls are on screen, beside the table and the panels.
    for widget, pane in (
        (win.bucket_box, win.splitter.widget(1)),
        (win.mask_button, win.splitter.widget(0)),
    ):
        right = widget.mapTo(pane, QPoint(widget.width(), 0)).x()
        assert widget.isVisible() and right <= pane.width(), widget
    assert win.table_view.horizontalScrollBar().maximum() == 0
    # Without summary_buckets.csv (an older run): no box, every image.
    (fake_run / "summary_buckets.csv").unlink()
    win.reload()
    assert not win.bucket_box.isVisible() and not win.bucket_label.isVisible()
    assert len(win.table.order) == N_TEST


# The white paint under the true-damage overlay: its colour blended over white.
PAINT_UNDER_OVERLAY = 255 + OPACITY * (np.array(COLOURS[TRUE]) - 255)


def _paint_under_overlay(image: np.ndarray) -> int:
    """How many pixels show white paint under the true-damage overlay (within a little)."""
    pixels = image.reshape(-1, 3).astype(float)
    return int(np.count_nonzero((np.abs(pixels - PAINT_UNDER_OVERLAY) <= 4).all(axis=1)))


def test_a_screenshot_with_the_overlay_shows_its_colour(fake_run, tmp_path):
    """``--screenshot --mask true``: the damaged panel's white strokes turn the overlay's
    overlay's colour over white, as nothing does without the overlay."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    shots = {}
    for mode in ("off", "true", "found"):
        out = tmp_path / f"{mode}.png"
        result = subprocess.run(
            [sys.executable, "-m", "viewer", str(fake_run), "--screenshot", str(out)]
            + ["--mask", mode, "--index", "2", "--size", "1280x720"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=HANG_S,
        )
        assert result.returncode == 0, result.stderr
        shots[mode] = np.asarray(Image.open(out).convert("RGB"))
        assert shots[mode].shape == (720, 1280, 3) and shots[mode].std() > 10
    painted = read_mask(fake_run)[2].sum()
    overlaid = _paint_under_overlay(shots["true"])
    assert overlaid > painted  # the damaged panel's strokes, drawn enlarged
    assert _paint_under_overlay(shots["off"]) * 10 < overlaid
    # Where the overlay changed a pixel of the panels (below the control rows), it moved it
    # towards the overlay's colour, channel by channel.
    on, off = (shots[mode][100:].astype(int) for mode in ("true", "off"))
    changed = np.abs(on - off).max(axis=2) > 8
    assert changed.sum() > 4 * painted
    colour = np.array(COLOURS[TRUE])
    assert (np.abs(colour - on[changed]) <= np.abs(colour - off[changed]) + 2).all()
    assert not np.array_equal(shots["found"], shots["true"])


def test_the_overlay_on_screen_in_the_window(qtbot, fake_run):
    """widget.grab() of the panels with the overlay on: the overlay's colour is drawn."""
    win = open_window(qtbot, fake_run, (1280, 720))
    qtbot.wait(20)
    before = _paint_under_overlay(grab_pixels(win.panels))
    win.set_mask_mode(TRUE)
    qtbot.wait(20)
    after = _paint_under_overlay(grab_pixels(win.panels))
    assert after > read_mask(fake_run)[0].sum() and before * 10 < after


def test_stored_masks_never_load_the_recovery_code(fake_run, tmp_path):
    """Stored masks, the overlay on: the window never loads the recovery code (scipy)."""
    screenshot_loading_none(
        fake_run,
        tmp_path / "shot.png",
        "m.split('.')[0] == 'scipy' or m == 'restorebench.data.masks'",
        "--mask",
        "true",
    )


def test_every_control_fits_at_1280x720_with_every_baseline(qtbot, tmp_path):
    """A run as the workflow makes them now: two trained models and all three baselines
    (a box each beside the mask button), their five columns and summary rows."""
    models = ("vae", "gan", *contract.BASELINES)
    run = make_fake_run(tmp_path / "run", N_TEST, SIZE, models=models, seed=7)
    write_buckets(run)
    win = open_window(qtbot, run, (1280, 720))
    qtbot.wait(20)
    assert len(win.table.models) == 5 and win.summary.rowCount() == 5
    left = win.splitter.widget(0)
    for widget in (win.mask_button, win.diff_box, win.model_boxes[contract.ORACLE]):
        assert widget.mapTo(left, QPoint(widget.width(), 0)).x() <= left.width(), widget
    view = win.table_view
    assert view.horizontalScrollBar().maximum() == 0
    last = win.table.columnCount() - 1
    assert view.columnViewportPosition(last) + view.columnWidth(last) <= view.viewport().width()
    assert win.summary.horizontalScrollBar().maximum() == 0
    assert win.bucket_box.mapTo(win.splitter.widget(1), QPoint(win.bucket_box.width(), 0)).x() <= (
        win.splitter.widget(1).width()
    )
