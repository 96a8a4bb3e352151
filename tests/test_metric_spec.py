"""A new metric is its spec entry and its function, nothing else.

The spec (``contract.METRICS``) is patched with a temporary MAE and MAE's function is
registered with the decorator; then every consumer (scoring, the CSV, the summary and its
markdown, the figures, the viewer's table and summary) shows it without being told.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest
from viewer_fixtures import read_metric

from bench.fakerun import make_fake_run
from restorebench import contract
from restorebench.scoring import metrics
from restorebench.scoring.metrics import image_metrics, read_metrics, score_images, write_metrics
from restorebench.scoring.plots import plot_distributions, plot_scatter
from restorebench.scoring.summary import summarize
from restorebench.scoring.summary_page import render_markdown
from viewer.runfiles import Run
from viewer.table import ScoreTable
from viewer.window import ViewerWindow

MAE = contract.Metric("mae", "MAE", lower_is_better=True, format="{:.2f}")


@pytest.fixture
def with_mae(monkeypatch):
    """The spec with MAE last and MAE's function registered; both undone afterwards."""
    monkeypatch.setattr(contract, "METRICS", (*contract.METRICS, MAE))

    @metrics.scorer("mae")
    def mae(image: metrics.Scored) -> float:
        return float(np.abs(image.truth - image.test).mean())

    yield
    del metrics.SCORERS["mae"]


def pairs(count: int = 3, size: int = 12) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    clean = rng.integers(0, 256, (count, size, size, 3), dtype=np.uint8)
    restored = np.clip(clean.astype(int) + rng.integers(-20, 21, clean.shape), 0, 255)
    return clean, restored.astype(np.uint8)


def test_a_new_metric_reaches_the_csv_summary_and_plots(with_mae, tmp_path):
    clean, restored = pairs()
    values = score_images(clean, restored, workers=1)
    assert values.shape == (3, len(contract.METRICS))
    expected = np.abs(clean.astype(float) - restored.astype(float)).mean(axis=(1, 2, 3))
    np.testing.assert_allclose(values[:, -1], expected)

    names = ["x", "y", "z"]
    write_metrics(tmp_path / "m.csv", names, values)
    with open(tmp_path / "m.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["name", *contract.metric_names()]
    assert list(rows[0])[-1] == "mae"
    assert [float(r["mae"]) for r in rows] == list(expected)
    read_names, read_values = read_metrics(tmp_path / "m.csv")
    assert read_names == names and np.array_equal(read_values, values, equal_nan=True)

    worse = score_images(clean, 255 - restored, workers=1)
    stats, comparisons = summarize({"good": read_values, "bad": worse}, [("good", "bad")], 50)
    mae = next(s for s in stats if s.model == "good" and s.metric == "mae")
    assert mae.mean == pytest.approx(expected.mean())
    mae_diff = next(c for c in comparisons if c.metric == "mae")
    assert mae_diff.win_rate == 1.0  # lower MAE wins: the spec's direction
    text = render_markdown(stats, comparisons, 0.95, 50)
    assert "| MAE mean [CI] (median) |" in text
    assert f"{expected.mean():.2f} [" in text  # MAE's own format
    assert "| good | bad | MAE |" in text
    assert "MSE, NRMSE, LPIPS, FLIP, MAE: lower is better" in text

    for figure in (
        plot_distributions({"good": read_values, "bad": worse}, tmp_path / "d.png"),
        plot_scatter("good", "bad", read_values, worse, tmp_path / "s.png"),
    ):
        # A panel per whole-image metric (MAE too, not a grid that drops it) and per damaged-
        # pixel headline metric.
        panels = len(contract.metrics_in("image")) + len(contract.HEADLINE_METRICS)
        assert len(figure.axes) == panels
        assert figure.axes[-1].get_title().startswith("MAE: ")
    assert (tmp_path / "d.png").stat().st_size > 0 and (tmp_path / "s.png").stat().st_size > 0


def test_the_viewer_shows_a_new_metric(with_mae, tmp_path, qtbot):
    run_dir = make_fake_run(tmp_path / "run", 4, 16)
    mae = read_metric(run_dir, "gan", "mae")
    with Run(run_dir) as run:
        assert run.problems == []
        table = ScoreTable(run)
        table.set_metric("mae")  # the table's metric choice offers the new one
        column = table.column_of("gan")
        assert len(table.headers()) == 2 + 4
        assert table.data(table.index(table.row_of(0), column)) == f"{mae[0]:.2f}"
    win = ViewerWindow(run_dir)
    qtbot.addWidget(win)
    assert "MAE" in [win.metric_box.itemText(i) for i in range(win.metric_box.count())]
    # The summary box: every whole-image metric, the new one too, then the headline ones over
    # the damaged pixels (not every region's: they would not fit beside the panels).
    # (Labels wrap onto two lines to keep the columns narrow.)
    headers = [
        win.summary.horizontalHeaderItem(c).text().replace("\n", " ")
        for c in range(win.summary.columnCount())
    ]
    assert headers == [
        *("MSE", "NRMSE", "SSIM", "PSNR (dB)", "LPIPS", "FLIP", "MAE"),
        *("damaged PSNR (dB)", "damaged SSIM"),
    ]
    rows = [win.summary.verticalHeaderItem(r).text() for r in range(win.summary.rowCount())]
    assert win.summary.item(rows.index("GAN"), headers.index("MAE")).text() == f"{mae.mean():.2f}"
    # The panel titles score the whole image, the new metric included.
    assert f"MAE {mae[0]:.2f}" in win.panels.panels["gan"].plot.titleLabel.text


def test_a_spec_entry_without_a_function_is_named(monkeypatch):
    monkeypatch.setattr(contract, "METRICS", (*contract.METRICS, MAE))
    clean, restored = pairs(1)
    with pytest.raises(ValueError, match=r"mae in contract.METRICS have no function.*scorer"):
        image_metrics(clean[0], restored[0])
    with pytest.raises(ValueError, match="have no function"):
        score_images(clean, restored)


def test_a_metric_cannot_get_two_functions():
    with pytest.raises(ValueError, match="'ssim' already has a function"):
        metrics.scorer("ssim")(lambda truth, test: 0.0)
