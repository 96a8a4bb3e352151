"""Damage-aware scores: region metrics by hand, recovered masks, mask detection, buckets."""

import io
import math

import numpy as np
import pytest
from PIL import Image
from skimage.metrics import structural_similarity

from restorebench import contract
from restorebench.data.damage import damage_pair
from restorebench.data.demo import demo_image
from restorebench.data.images import fit_square
from restorebench.data.masks import recover_mask
from restorebench.scoring.mask_scores import average_precision, mask_scores
from restorebench.scoring.metrics import image_metrics
from restorebench.scoring.summary import by_mask_share, describe_masks, summarize
from restorebench.scoring.summary_page import render_markdown


def scores(clean, restored, mask) -> dict[str, float]:
    return dict(zip(contract.metric_names(), image_metrics(clean, restored, mask)))


def flat(value: int, size: int = 8) -> np.ndarray:
    return np.full((size, size, 3), value, np.uint8)


def test_region_scores_of_a_few_damaged_pixels_by_hand():
    clean, restored = flat(100), flat(100)
    mask = np.zeros((8, 8), bool)
    mask[2, 3] = mask[5, 6] = True
    restored[2, 3] = (130, 100, 70)  # errors 30, 0, 30
    restored[5, 6] = (100, 100, 160)  # errors 0, 0, 60
    restored[0, 0] = (101, 101, 101)  # an intact pixel off by one in every channel
    got = scores(clean, restored, mask)
    hole_mse = (30**2 + 30**2 + 60**2) / 6
    assert got["hole_mse"] == pytest.approx(hole_mse)
    assert got["hole_mae"] == pytest.approx(120 / 6)
    assert got["hole_psnr"] == pytest.approx(10 * math.log10(255**2 / hole_mse))
    assert got["intact_mse"] == pytest.approx(3 / (62 * 3))
    assert got["intact_mae"] == pytest.approx(3 / (62 * 3))
    assert got["mask_share"] == pytest.approx(2 / 64)
    # The whole-image MSE is the pixel-weighted mean of the two regions'.
    assert got["mse"] == pytest.approx((2 * hole_mse + 62 * got["intact_mse"]) / 64)
    _, ssim_map = structural_similarity(
        clean.astype(float), restored.astype(float), data_range=255, channel_axis=-1, full=True
    )
    assert got["hole_ssim"] == pytest.approx(ssim_map.mean(axis=-1)[mask].mean())
    assert got["intact_ssim"] == pytest.approx(ssim_map.mean(axis=-1)[~mask].mean())


def test_an_empty_mask_has_no_hole_scores_and_a_full_mask_no_intact_ones():
    clean, restored = flat(100), flat(110)
    empty = scores(clean, restored, np.zeros((8, 8), bool))
    assert all(math.isnan(empty[spec.name]) for spec in contract.metrics_in("hole"))
    assert empty["intact_mse"] == pytest.approx(100.0) and empty["mask_share"] == 0.0
    full = scores(clean, restored, np.ones((8, 8), bool))
    assert all(math.isnan(full[spec.name]) for spec in contract.metrics_in("intact"))
    assert full["hole_mse"] == pytest.approx(100.0) and full["mask_share"] == 1.0
    assert full["hole_psnr"] == pytest.approx(full["psnr"])


def test_untouched_intact_pixels_score_an_infinite_psnr():
    clean = flat(100)
    mask = np.zeros((8, 8), bool)
    mask[4, 4] = True
    restored = clean.copy()
    restored[4, 4] = 255
    got = scores(clean, restored, mask)
    assert got["intact_psnr"] == math.inf and got["intact_mse"] == 0.0
    assert math.isfinite(got["hole_psnr"])


def test_without_a_mask_every_region_score_is_nan_and_whole_image_scores_stay():
    got = scores(flat(100), flat(110), None)
    assert all(math.isnan(got[s.name]) for s in contract.METRICS if s.region != "image")
    assert got["mse"] == pytest.approx(100.0)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


@pytest.mark.parametrize(("size", "quality", "least"), [(64, 90, 0.85), (128, 90, 0.9)])
def test_the_recovered_mask_agrees_with_the_exact_one_on_jpeg_pairs(size, quality, least):
    """docs/data.md states these agreements (mean IoU over the demo photos)."""
    ious = []
    for index in range(8):
        clean = fit_square(demo_image(index, 0), size, "center_crop")
        damaged, exact = damage_pair(clean, 0, f"photo{index}")
        found = recover_mask(jpeg(clean, quality), jpeg(damaged, quality))
        ious.append((found & exact).sum() / (found | exact).sum())
    assert np.mean(ious) >= least


def test_the_recovered_mask_of_an_exact_pair_is_the_painted_pixels():
    clean = fit_square(demo_image(3, 0), 64, "center_crop")
    damaged, exact = damage_pair(clean, 0, "three")
    found = recover_mask(clean, damaged)
    assert not (found & ~exact).any()  # no false alarm without JPEG noise
    assert (found & exact).sum() / exact.sum() > 0.8


def test_mask_scores_by_hand():
    truth = np.zeros((4, 4), bool)
    truth[0, :] = True  # 4 damaged pixels
    found = np.zeros((4, 4), np.uint8)
    found[0, :3] = 255  # 3 hits
    found[1, 0] = 200  # 1 false alarm
    iou, f1, precision, recall, ap = mask_scores(found, truth)
    assert iou == pytest.approx(3 / 5)
    assert f1 == pytest.approx(2 * 3 / (2 * 3 + 1 + 1))
    assert precision == pytest.approx(3 / 4) and recall == pytest.approx(3 / 4)
    # Ranked: three hits at 255 (precision 1, recall 3/4), then the false alarm at 200
    # (no recall gained), then the missed pixel at 0 with everything (precision 4/16).
    assert ap == pytest.approx(1.0 * 3 / 4 + (4 / 16) * 1 / 4)


def test_average_precision_matches_its_definition_on_random_soft_masks():
    rng = np.random.default_rng(5)
    truth = rng.random((16, 16)) < 0.2
    soft = np.clip(truth * 120 + rng.integers(0, 136, (16, 16)), 0, 255).astype(np.uint8)
    expected, previous_recall = 0.0, 0.0
    for level in sorted(set(soft.ravel()), reverse=True):
        chosen = soft >= level
        recall = (chosen & truth).sum() / truth.sum()
        expected += (recall - previous_recall) * (chosen & truth).sum() / chosen.sum()
        previous_recall = recall
    assert average_precision(soft, truth) == pytest.approx(expected)


def test_mask_scores_without_damage_are_explicit():
    nothing = np.zeros((4, 4), bool)
    iou, f1, precision, recall, ap = mask_scores(np.zeros((4, 4), np.uint8), nothing)
    assert (iou, f1) == (1.0, 1.0) and math.isnan(precision) and math.isnan(recall)
    assert math.isnan(ap)
    iou, *_ = mask_scores(np.full((4, 4), 255, np.uint8), nothing)
    assert iou == 0.0


def table(rows: list[dict[str, float]]) -> np.ndarray:
    return np.array([[row.get(n, math.nan) for n in contract.metric_names()] for row in rows])


def test_the_summary_leaves_out_missing_regions_and_keeps_infinity_out_of_nan():
    keeper = table(
        [
            {"psnr": 30.0, "hole_psnr": 20.0, "intact_psnr": math.inf, "mask_share": 0.01},
            {"psnr": 32.0, "hole_psnr": math.nan, "intact_psnr": math.inf, "mask_share": 0.0},
            {"psnr": 28.0, "hole_psnr": 16.0, "intact_psnr": math.inf, "mask_share": 0.08},
        ]
    )
    stats, comparisons = summarize({"keeper": keeper, "same": keeper.copy()}, [("keeper", "same")])
    by_name = {s.metric: s for s in stats if s.model == "keeper"}
    assert by_name["hole_psnr"].n == 2 and by_name["hole_psnr"].mean == pytest.approx(18.0)
    assert by_name["intact_psnr"].mean == math.inf
    assert by_name["intact_psnr"].ci_low == math.inf  # infinite, not NaN
    hole = next(c for c in comparisons if c.metric == "hole_psnr")
    assert hole.n == 2 and hole.mean_diff == 0.0 and hole.tie_rate == 1.0
    assert not any(c.metric.startswith("intact_") for c in comparisons)
    text = render_markdown(stats, comparisons, 0.95, 2000)
    assert "nan" not in text.lower()
    keeper_row = next(line for line in text.splitlines() if "18.00" in line)
    assert keeper_row.startswith("| keeper | - | 18.00 [16.00, 20.00] |")
    assert "| inf (median inf) |" in keeper_row
    # One identical image makes the mean infinite; the median says what the others score.
    mixed = table([{"intact_psnr": v, "mask_share": 0.1} for v in (math.inf, 40.0, 30.0)])
    stats, _ = summarize({"m": mixed}, [])
    assert "| inf (median 40.00) |" in render_markdown(stats, [], 0.95, 2000)


def test_buckets_split_the_images_by_damaged_share():
    shares = [0.01, 0.03, 0.04, 0.07, 0.3]
    values = table([{"hole_psnr": 10.0 * (i + 1), "mask_share": s} for i, s in enumerate(shares)])
    rows = by_mask_share({"m": values}, [0.02, 0.05, 0.1], resamples=200)
    hole = {r.bucket: r for r in rows if r.metric == "hole_psnr"}
    assert list(hole) == ["0%-2%", "2%-5%", "5%-10%", "10%+"]
    assert [hole[b].n for b in hole] == [1, 2, 1, 1]
    assert hole["2%-5%"].mean == pytest.approx(25.0)
    assert hole["10%+"].mean == pytest.approx(50.0) and math.isnan(hole["10%+"].ci_low)
    with pytest.raises(ValueError, match="score.mask_share_buckets"):
        by_mask_share({"m": values}, [0.05, 0.02])


def test_mask_statistics_per_model():
    found = np.array([[0.5, 0.6, 0.5, 0.7, 0.4], [1.0, 1.0, 1.0, 1.0, 1.0]])
    stats = describe_masks({"inpaint": found}, resamples=100)
    assert [s.metric for s in stats] == [spec.name for spec in contract.MASK_SCORES]
    assert stats[0].mean == pytest.approx(0.75) and stats[0].n == 2
