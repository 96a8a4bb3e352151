"""Summary statistics equal a recomputation from the metric files; comparisons and plots."""

import csv
import math

import numpy as np
import pytest
from PIL import Image

from restorebench import contract
from restorebench.contract import COMPARISON_FIELDS, SUMMARY_FIELDS
from restorebench.scoring.metrics import write_metrics
from restorebench.scoring.plots import (
    example_indices,
    plot_distributions,
    plot_examples,
    plot_history,
    plot_scatter,
    read_history,
)
from restorebench.scoring.summary import bootstrap_indices, load_tables, summarize, write_csv
from restorebench.scoring.summary_page import ORIGIN_REPORTED, render_markdown

NAMES = [f"img{i}" for i in range(6)]
COMPARED = [spec.name for spec in contract.scores() if spec.region in ("image", "hole")]
PLOTTED = [
    *contract.metrics_in("image"),
    contract.metric("hole_psnr"),
    contract.metric("hole_ssim"),
]


def row(**values: float) -> list[float]:
    """A metrics row with ``values`` and NaN (no such region) everywhere else."""
    return [values.get(name, math.nan) for name in contract.metric_names()]


@pytest.fixture
def tables():
    rng = np.random.default_rng(0)
    # Every column in its metric's range: [0, 1] scores, 10-100 errors, 20-40 dB.
    a = np.column_stack(
        [
            rng.uniform(20, 40, 6)
            if "PSNR" in spec.label
            else rng.uniform(0, 1, 6)
            if spec.high == 1.0 or spec.name == "nrmse"
            else rng.uniform(10, 100, 6)
            for spec in contract.METRICS
        ]
    )
    b = a.copy()
    b[:, 0] += [5, -1, 3, 0, 2, 4]  # b's MSE worse on 4 images, better on 1, tied on 1
    return {"a": a, "b": b}


def test_summary_equals_recomputation_from_the_csvs(tmp_path, tables):
    paths = {}
    for model, values in tables.items():
        paths[model] = tmp_path / f"{model}.csv"
        write_metrics(paths[model], NAMES, values)
    names, loaded = load_tables(paths)
    assert names == NAMES
    stats, _ = summarize(loaded, [], resamples=500, seed=3)
    write_csv(tmp_path / "summary.csv", stats, SUMMARY_FIELDS)
    with (tmp_path / "summary.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == list(SUMMARY_FIELDS)
    assert len(rows) == 2 * len(contract.scores())
    indices = np.random.default_rng(3).integers(0, 6, size=(500, 6))
    for row in rows:
        values = tables[row["model"]][:, contract.metric_names().index(row["metric"])]
        means = values[indices].mean(axis=1)
        assert float(row["mean"]) == pytest.approx(values.mean(), rel=1e-12)
        assert float(row["std"]) == pytest.approx(values.std(ddof=1), rel=1e-12)
        assert float(row["median"]) == pytest.approx(np.median(values), rel=1e-12)
        assert float(row["ci_low"]) == pytest.approx(np.quantile(means, 0.025), rel=1e-12)
        assert float(row["ci_high"]) == pytest.approx(np.quantile(means, 0.975), rel=1e-12)
        assert int(row["n"]) == 6
        assert float(row["ci_low"]) <= float(row["mean"]) <= float(row["ci_high"])


def test_paired_comparison_counts_wins_and_ties(tables):
    _, comparisons = summarize(tables, [("a", "b")], resamples=300)
    mse = next(c for c in comparisons if c.metric == "mse")
    assert mse.mean_diff == pytest.approx(-13 / 6)
    assert mse.win_rate == pytest.approx(4 / 6)  # lower MSE wins
    assert mse.tie_rate == pytest.approx(1 / 6)
    assert mse.ci_low <= mse.mean_diff <= mse.ci_high
    ssim = next(c for c in comparisons if c.metric == "ssim")
    assert (ssim.mean_diff, ssim.win_rate, ssim.tie_rate) == (0.0, 0.0, 1.0)
    assert ssim.ci_low == ssim.ci_high == 0.0
    with pytest.raises(ValueError, match="'c' was not scored"):
        summarize(tables, [("a", "c")])


def test_constant_values_have_a_point_interval_and_inf_stays_inf():
    values = np.array([row(mse=4.0, nrmse=0.5, ssim=0.9, psnr=math.inf)] * 3)
    stats, _ = summarize({"m": values}, [], resamples=200)
    mse = stats[0]
    assert (mse.mean, mse.std, mse.median, mse.ci_low, mse.ci_high) == (4.0, 0.0, 4.0, 4.0, 4.0)
    psnr = stats[3]
    assert psnr.mean == math.inf and psnr.median == math.inf


def test_bootstrap_is_reproducible():
    np.testing.assert_array_equal(bootstrap_indices(10, 50, 7), bootstrap_indices(10, 50, 7))
    assert not np.array_equal(bootstrap_indices(10, 50, 7), bootstrap_indices(10, 50, 8))


def test_load_tables_refuses_files_of_different_test_sets(tmp_path, tables):
    write_metrics(tmp_path / "a.csv", NAMES, tables["a"])
    write_metrics(tmp_path / "b.csv", NAMES[::-1], tables["b"])
    with pytest.raises(ValueError, match=r"b\.csv: image names differ from .*a\.csv"):
        load_tables({"a": tmp_path / "a.csv", "b": tmp_path / "b.csv"})


def test_markdown_holds_every_model_comparison_and_the_origin_table(tables):
    stats, comparisons = summarize(tables, [("a", "b")], resamples=200)
    text = render_markdown(stats, comparisons, 0.95, 200, origin_stats=stats)
    assert "6 test images" in text
    assert "MSE, NRMSE, LPIPS, FLIP: lower is better; SSIM, PSNR (dB): higher is better." in text
    # Its row in our table, in the damaged and intact pixels' table and in the origin protocol's.
    assert text.count("\n| b | ") == 3
    assert text.count("\n| a | b | ") == len(COMPARED)  # one comparison row per compared metric
    assert "| a | b | MSE | -2.2 |" in text  # MSE's spec format: one decimal
    assert "## Origin protocol" in text
    assert "## Origin protocol" not in render_markdown(stats, comparisons, 0.95, 200)


def test_published_origin_rows_close_the_origin_table_whatever_the_models_are_called(tables):
    """The published means are rows of their own, not attached to a model of ours by name."""
    renamed = {"vae": tables["a"], "gan_lr2e4": tables["b"]}
    stats, _ = summarize(renamed, [], resamples=50)
    text = render_markdown(stats, [], 0.95, 50, origin_stats=stats)
    origin = text.split("## Origin protocol")[1].splitlines()
    rows = [line.split(" | ")[0].removeprefix("| ") for line in origin if line.startswith("| ")]
    published = [f"{name} (origin, published)" for name in ORIGIN_REPORTED]
    assert rows == ["model", "vae", "gan_lr2e4", *published]
    assert "| damaged (origin, published) | 2522.9 | 0.4050 | 0.7540 |  |" in text
    assert "(origin, published)" not in text.split("## Origin protocol")[0]


def test_markdown_numbers_keep_each_metric_format(tables):
    stats, _ = summarize(tables, [], resamples=50)
    text = render_markdown(stats, [], 0.95, 50)
    table = next(line for line in text.splitlines() if line.startswith("| a |"))
    cells = table.strip("| ").split(" | ")[1:]
    for spec, cell in zip(contract.metrics_in("image"), cells, strict=True):
        decimals = len(spec.show(1.0).partition(".")[2])
        numbers = cell.replace("[", "").replace("]", "").replace("(", "").replace(")", "")
        for number in numbers.replace(",", "").split():
            assert len(number.partition(".")[2]) == decimals, (spec.name, cell)


def test_comparison_csv_fields(tmp_path, tables):
    _, comparisons = summarize(tables, [("a", "b")], resamples=100)
    write_csv(tmp_path / "c.csv", comparisons, COMPARISON_FIELDS)
    with (tmp_path / "c.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert [r["metric"] for r in rows] == COMPARED
    assert float(rows[0]["win_rate"]) == pytest.approx(4 / 6)


def test_example_picks_follow_the_metric_direction():
    values = np.array([0.5, 0.9, 0.1, 0.7, 0.3])
    assert example_indices(values, "ssim") == {"best": 1, "median": 0, "worst": 2}
    assert example_indices(values, "mse") == {"best": 2, "median": 0, "worst": 1}


def test_every_plot_writes_a_png(tmp_path, tables):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 6, 16, 16, 3), dtype=np.uint8)
    figures = [
        plot_distributions(tables, tmp_path / "d.png"),
        plot_scatter("a", "b", tables["a"], tables["b"], tmp_path / "s.png"),
    ]
    for figure in figures:  # one panel per plotted metric, titled with its label
        titles = [axis.get_title() for axis in figure.axes]
        assert [t.split(":")[0] for t in titles] == [m.label for m in PLOTTED]
    plot_examples("a", *images, NAMES, tables["a"][:, 2], "ssim", tmp_path / "e.png")
    history = tmp_path / "h.csv"
    history.write_text("epoch,loss,val_loss,l1\n0,1.0,1.2,0.3\n1,0.5,0.7,0.2\n")
    assert set(read_history(history)) == {"epoch", "loss", "val_loss", "l1"}
    plot_history({"vae": read_history(history)}, tmp_path / "t.png")
    for name in ("d", "s", "e", "t"):
        with Image.open(tmp_path / f"{name}.png") as image:
            assert image.format == "PNG" and min(image.size) > 200


def test_one_test_image_gets_no_interval_and_a_warning():
    values = np.array([row(mse=4.0, nrmse=0.5, ssim=0.9, psnr=30.0)])
    stats, _ = summarize({"m": values}, [], resamples=200)
    assert all(math.isnan(stat.ci_low) and math.isnan(stat.ci_high) for stat in stats)
    text = render_markdown(stats, [], 0.95, 200)
    assert "Only 1 test image: these scores say little" in text
    assert "[no interval from 1 image]" in text and "nan" not in text


@pytest.mark.parametrize("name", [r"$\bogus$", "$x^$", r"$\frac{1}$", "50% & <b>"])
def test_an_image_name_is_drawn_as_written(tmp_path, tables, name):
    """Matplotlib reads $...$ as mathematics: a file name must never be parsed as such."""
    images = np.zeros((3, 6, 16, 16, 3), np.uint8)
    names = [f"{name} {i}" for i in range(len(NAMES))]
    figure = plot_examples("a", *images, names, tables["a"][:, 2], "ssim", tmp_path / "e.png")
    labels = [axis.get_ylabel() for axis in figure.axes]
    assert any(name in label for label in labels) and (tmp_path / "e.png").stat().st_size > 0


def test_training_curves_read_at_screen_width(tmp_path):
    """Many quantities wrap into rows of four, shared scores first, instead of one long strip."""
    epochs = np.arange(3.0)
    gan = {"epoch": epochs, **{k: epochs + 1 for k in ("d_loss", "g_loss", "l1", "gan_loss")}}
    gan |= {f"val_{m}": epochs for m in ("psnr", "ssim")} | {"val_l1": epochs}
    vae = {"epoch": epochs, "loss": epochs, "kl": epochs, "val_psnr": epochs, "val_ssim": epochs}
    figure = plot_history({"gan": gan, "vae": vae}, tmp_path / "t.png")
    width, height = figure.get_size_inches()
    assert width <= 13 and height < width  # was 25 x 6 in for seven panels a row
    titles = [axis.get_title() for axis in figure.axes if axis.get_title()]
    assert titles[:2] == ["gan: ssim", "gan: psnr"]
    assert len(titles) == 6 + 4 and all(axis.title.get_fontsize() >= 10 for axis in figure.axes)


def test_the_summary_says_where_its_figures_come_from_and_what_is_wrong_with_the_data():
    from restorebench.runtime import provenance
    from restorebench.scoring.summary_page import provenance_markdown

    trained = provenance.record("aaaa", {"family": "gan"})
    scored = provenance.record("bbbb", {"protocol": "ours"})
    lines = provenance_markdown(
        provenance.record("cccc", {}),
        {"gan": trained, "vae": None},
        {"gan": scored, "vae": None, "inpaint": scored},
        ["6 of the 6 pairs are brighter on the clean side"],
    )
    text = "\n".join(lines)
    assert "## Warnings about the data\n\n- 6 of the 6 pairs are brighter" in text
    assert f"Dataset: {provenance.describe(provenance.record('cccc', {}))}." in text
    assert f"| gan | {provenance.describe(trained)} | {provenance.describe(scored)} |" in text
    assert "| vae | not recorded" in text and "| inpaint | no training |" in text
    assert "Warnings" not in "\n".join(provenance_markdown(None, {}, {}, []))
