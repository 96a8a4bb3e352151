"""The report's additions: the paired signed-rank test, the study's answer made from the
figures, the 10 % damaged-share steps, LPIPS and FLIP in every table, the cost table and
the perception-distortion and best/worst figures."""

import math

import numpy as np
import pytest
from PIL import Image
from scipy.stats import wilcoxon

from restorebench import contract
from restorebench.scoring.costs import read_benchmark, read_costs, write_costs
from restorebench.scoring.plots import (
    best_worst_indices,
    perception_distortion_points,
    plot_best_worst,
    plot_perception_distortion,
)
from restorebench.scoring.summary import (
    RATIO_EDGES,
    by_ratio,
    findings,
    signed_rank_p,
    summarize,
    write_csv,
)
from restorebench.scoring.summary_page import costs_markdown, render_markdown
from restorebench.scoring.tables import read_summary_stats

N = 40
COLUMNS = {name: k for k, name in enumerate(contract.metric_names())}


def table(rng: np.random.Generator, **columns: np.ndarray) -> np.ndarray:
    """A metrics table of N images: ``columns`` as given, the rest plausible noise."""
    values = np.column_stack(
        [rng.uniform(spec.low if spec.low > -1 else 0, 1, N) for spec in contract.METRICS]
    )
    for name, column in columns.items():
        values[:, COLUMNS[name]] = column
    return values


@pytest.fixture
def pixels_against_looks():
    """'sharp' looks closer (lower LPIPS, FLIP), 'blurry' is closer on pixels (higher PSNR,
    SSIM), by clear margins on every image; the damaged share spreads over 0-100 %."""
    rng = np.random.default_rng(1)
    share = np.linspace(0.0, 0.99, N)
    base = {
        "psnr": rng.uniform(20, 30, N),
        "ssim": rng.uniform(0.5, 0.8, N),
        "lpips": rng.uniform(0.2, 0.4, N),
        "flip": rng.uniform(0.2, 0.4, N),
        "mask_share": share,
    }
    blurry = table(rng, **base)
    sharp = table(
        rng,
        **{
            **base,
            "psnr": base["psnr"] - rng.uniform(1, 2, N),
            "ssim": base["ssim"] - rng.uniform(0.05, 0.1, N),
            "lpips": base["lpips"] - rng.uniform(0.05, 0.1, N),
            "flip": base["flip"] - rng.uniform(0.05, 0.1, N),
        },
    )
    return {"sharp": sharp, "blurry": blurry}


def test_the_signed_rank_p_value_is_scipys_and_survives_ties_and_infinities():
    rng = np.random.default_rng(0)
    diff = rng.normal(0.3, 1.0, 30)
    assert signed_rank_p(diff) == pytest.approx(wilcoxon(diff).pvalue)
    assert signed_rank_p(np.append(diff, math.nan)) == signed_rank_p(diff)  # no pair
    assert signed_rank_p(np.zeros(5)) == 1.0  # every pair ties
    assert math.isnan(signed_rank_p(np.array([math.nan])))
    # Only the order matters: an infinite difference ranks like the largest finite one.
    with_inf, largest = diff.copy(), np.argmax(np.abs(diff))
    with_inf[largest] = math.copysign(math.inf, diff[largest])
    assert signed_rank_p(with_inf) == pytest.approx(signed_rank_p(diff))


def test_comparisons_carry_the_p_value(pixels_against_looks):
    _, comparisons = summarize(pixels_against_looks, [("sharp", "blurry")], resamples=100)
    psnr = next(c for c in comparisons if c.metric == "psnr")
    diff = (
        pixels_against_looks["sharp"][:, COLUMNS["psnr"]]
        - pixels_against_looks["blurry"][:, COLUMNS["psnr"]]
    )
    assert psnr.p_value == pytest.approx(wilcoxon(diff).pvalue) and psnr.p_value < 0.001
    assert set(contract.COMPARISON_FIELDS) == set(vars(psnr))


def test_the_answer_names_the_closer_model_on_pixels_and_by_looks(pixels_against_looks):
    stats, comparisons = summarize(pixels_against_looks, [("sharp", "blurry")], resamples=100)
    answers = findings(comparisons, 0.05)[("sharp", "blurry")]
    assert [f.comparison.metric for f in answers["pixels"]] == ["psnr", "ssim"]
    assert {f.closer for f in answers["pixels"]} == {"blurry"}
    assert {f.closer for f in answers["looks"]} == {"sharp"}
    text = render_markdown(stats, comparisons, 0.95, 100)
    answer = text.split("## The study's answer")[1].split("\n## ")[0]
    means = {(s.model, s.metric): s.mean for s in stats}
    assert "On pixels (PSNR (dB), SSIM), blurry is closer" in answer
    assert "By perception (LPIPS, FLIP), sharp is closer" in answer
    assert f"LPIPS {means['sharp', 'lpips']:.4f} against {means['blurry', 'lpips']:.4f}" in answer
    assert "p < 0.001" in answer and "no clear difference between" not in answer


def test_the_answer_says_no_clear_difference_above_the_threshold():
    rng = np.random.default_rng(2)
    a = table(rng)
    b = a.copy()
    b[:, COLUMNS["psnr"]] += rng.normal(0, 1, N)  # noise, no direction
    b[:, COLUMNS["lpips"]] += rng.normal(0, 0.01, N)
    stats, comparisons = summarize({"a": a, "b": b}, [("a", "b")], resamples=100)
    p = {c.metric: c.p_value for c in comparisons}
    assert p["psnr"] > 0.05 and p["lpips"] > 0.05  # this seed's noise
    text = render_markdown(stats, comparisons, 0.95, 100)
    answer = text.split("## The study's answer")[1].split("\n## ")[0]
    # SSIM and FLIP are identical: every pair ties, p = 1.
    assert "On pixels (PSNR (dB), SSIM), no clear difference between a and b" in answer
    assert "By perception (LPIPS, FLIP), no clear difference between a and b" in answer
    assert f"p = {p['psnr']:.3f}" in answer and "p = 1.000" in answer


def test_mixed_scores_are_reported_as_disagreeing(pixels_against_looks):
    tables = {k: v.copy() for k, v in pixels_against_looks.items()}
    tables["sharp"][:, COLUMNS["ssim"]] = tables["blurry"][:, COLUMNS["ssim"]]  # tie
    stats, comparisons = summarize(tables, [("sharp", "blurry")], resamples=100)
    text = render_markdown(stats, comparisons, 0.95, 100)
    assert "the scores disagree: blurry closer by PSNR (dB), no clear difference by SSIM" in text


def test_without_lpips_the_answer_rests_on_flip(pixels_against_looks):
    tables = {k: v.copy() for k, v in pixels_against_looks.items()}
    for values in tables.values():  # images under 31 px
        values[:, [COLUMNS[m] for m in ("lpips", "hole_lpips", "intact_lpips")]] = math.nan
    stats, comparisons = summarize(tables, [("sharp", "blurry")], resamples=100)
    text = render_markdown(stats, comparisons, 0.95, 100)
    answer = text.split("## The study's answer")[1].split("\n## ")[0]
    assert "sharp is closer (FLIP" in answer and "LPIPS 0" not in answer


def test_ratio_steps_are_tenths_and_count_every_image(pixels_against_looks):
    assert RATIO_EDGES == (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
    rows = [r for r in by_ratio(pixels_against_looks, resamples=50) if r.metric == "lpips"]
    sharp = [r for r in rows if r.model == "sharp"]
    assert [r.bucket for r in sharp] == [
        *(f"{k * 10}%-{k * 10 + 10}%" for k in range(9)),
        "90%+",
    ]
    assert sum(r.n for r in sharp) == N
    share = pixels_against_looks["sharp"][:, COLUMNS["mask_share"]]
    lpips = pixels_against_looks["sharp"][:, COLUMNS["lpips"]]
    inside = (share >= 0.3) & (share < 0.4)
    assert sharp[3].mean == pytest.approx(lpips[inside].mean())


def test_every_table_with_psnr_and_ssim_has_lpips_and_flip(pixels_against_looks):
    stats, comparisons = summarize(pixels_against_looks, [("sharp", "blurry")], resamples=50)
    buckets = by_ratio(pixels_against_looks, resamples=50)
    text = render_markdown(stats, comparisons, 0.95, 50, buckets=buckets, ratios=buckets)
    headers = [line for line in text.splitlines() if line.startswith("| ")]
    for section in ("## By damaged share\n", "## By damaged share in 10 % steps"):
        tables = text.split(section)[1].split("\n## ")[0]
        firsts = [line.split(" | ")[0] for line in tables.splitlines() if "(n=" in line]
        assert firsts == [
            "| damaged PSNR (dB)", "| damaged SSIM", "| damaged LPIPS",
            "| PSNR (dB)", "| SSIM", "| LPIPS", "| FLIP",
        ]  # fmt: skip
    whole = headers[0]
    assert "PSNR (dB) mean" in whole and "LPIPS mean" in whole and "FLIP mean" in whole
    assert "| sharp | blurry | LPIPS |" in text and "| sharp | blurry | FLIP |" in text


def test_costs_come_from_the_benchmark_files(tmp_path):
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    (tmp_path / "score_gan.tsv").write_text(
        header + "12.50\t0:00:12\t812.30\t1\t1\t1\t0\t0\t50\t6\n"
        "13.50\t0:00:13\t900.10\t1\t1\t1\t0\t0\t50\t6\n"
    )
    (tmp_path / "summarize.tsv").write_text(
        header + "0.20\t0:00:00\tNA\tNA\tNA\tNA\tNA\tNA\tNA\tNA\n"
    )
    costs = read_costs(tmp_path)
    assert [c.job for c in costs] == ["score_gan", "summarize"]
    assert costs[0].seconds == 13.0 and costs[0].max_rss_mb == 900.1  # repeats: mean, peak
    assert math.isnan(read_benchmark(tmp_path / "summarize.tsv").max_rss_mb)
    text = costs_markdown(costs)
    assert "| score_gan | 13.0 | 900 |" in text and "| summarize | 0.2 | - |" in text
    assert text.index("score_gan") < text.index("| summarize")  # the slowest first
    write_costs(tmp_path / "costs.csv", costs)
    assert (tmp_path / "costs.csv").read_text().splitlines()[0] == "job,seconds,max_rss_mb"
    assert read_costs(tmp_path / "absent") == []
    assert [c.job for c in read_costs(tmp_path, exclude=("summarize",))] == ["score_gan"]


def test_the_perception_distortion_plot_has_a_point_and_bars_per_model(
    tmp_path, pixels_against_looks
):
    stats, _ = summarize(pixels_against_looks, [], resamples=100)
    write_csv(tmp_path / "summary.csv", stats, contract.SUMMARY_FIELDS)
    stats = read_summary_stats(tmp_path / "summary.csv")  # as the rule reads them
    figure = plot_perception_distortion(stats, tmp_path / "pd.png")
    axis = figure.axes[0]
    assert [t.get_text() for t in axis.texts] == ["sharp", "blurry"]
    assert len(axis.containers) == 2 and all(c.has_xerr and c.has_yerr for c in axis.containers)
    with Image.open(tmp_path / "pd.png") as image:
        assert image.format == "PNG"
    no_lpips = [s for s in stats if s.metric != "lpips"]
    assert perception_distortion_points(no_lpips) == {}
    figure = plot_perception_distortion(no_lpips, tmp_path / "none.png")
    assert "under 31 px" in figure.axes[0].texts[0].get_text()


def test_best_and_worst_thumbnails_skip_images_without_a_score(tmp_path):
    values = np.array([0.5, math.nan, 0.9, 0.1])
    assert best_worst_indices(values, "ssim") == {"best": 2, "worst": 3}
    assert best_worst_indices(values, "lpips") == {"best": 3, "worst": 2}
    assert best_worst_indices(np.full(3, math.nan), "lpips") == {}
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (4, 8, 8, 3), dtype=np.uint8)
    figure = plot_best_worst(
        images,
        images,
        {"a": images, "b": images},
        {"a": values, "b": np.full(4, math.nan)},
        ["w", "x", "y", "z"],
        "ssim",
        tmp_path / "bw.png",
    )
    drawn = [axis for axis in figure.axes if axis.images]
    assert len(drawn) == 6  # model a's six thumbnails; b has no score to rank by
    assert "y" in drawn[1].get_xlabel() and "z" in drawn[4].get_xlabel()
