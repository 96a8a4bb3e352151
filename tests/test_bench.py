"""The benchmark suite's quick mode end to end: every item runs and lands in both outputs.

Quick-mode figures are toy-sized and meaningless, so nothing here checks a timing;
it checks that each item really ran (its figures are there and positive) and that
BENCHMARKS.md reports each one beside its target.
"""

import json
import subprocess
import sys

import pytest
from conftest import HANG_S, REPO

from bench import quality
from bench.__main__ import QUICK
from bench.quality import CONTENDERS, CURVE_FRACTIONS, FACES
from bench.report_quality import CURVE_PLOT
from bench.targets import TARGETS
from restorebench import contract

pytestmark = pytest.mark.workflow
SECTIONS = (
    "## Machine",
    "## Summary",
    "## Prepare",
    "## Training throughput",
    "## Side by side with the origin's training loop",
    "## Memory allocator and a busy machine",
    "## Where the time goes",
    "## Predict + score",
    "## Viewer",
    "## Workflow overhead",
    "## Demo",
    "## Restoration quality under one budget",
    "## GPU",
)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench")
    markdown, results = folder / "BENCHMARKS.md", folder / "results.json"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--scratch",
            str(folder / "scratch"),
            "--markdown",
            str(markdown),
            "--results",
            str(results),
        ],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return json.loads(results.read_text()), markdown.read_text(), folder


def test_every_item_ran_without_error(quick_run):
    results, _, _ = quick_run
    assert results["mode"] == "quick"
    assert set(results["items"]) == {
        "prepare",
        "training",
        "origin",
        "allocator",
        "breakdown",
        "predict_score",
        "viewer",
        "demo",
        "dry_run",
        "quality",
    }
    failed = {
        name: item["error"]
        for name, item in results["items"].items()
        if isinstance(item, dict) and "error" in item
    }
    if not FACES.is_dir():  # a user's clone: the quality item needs the shared photos and says so
        assert "no such folder of photos (give one with --photos" in failed.pop("quality")
    assert not failed


def test_items_hold_real_figures(quick_run):
    items = quick_run[0]["items"]
    assert items["prepare"]["pairs"] == 40 and items["prepare"]["wall_s"]["median"] > 0
    assert {(r["model"], r["size"]) for r in items["training"]["matrix"]} == {
        ("gan", 16),
        ("vae", 16),
    }
    assert all(r["images_per_s"] > 0 and r["first_step_s"] > 0 for r in items["training"]["matrix"])
    (origin,) = items["origin"]
    assert set(origin["policies"]) == {"float32", "mixed_bfloat16"}
    for compared in origin["policies"].values():
        assert compared["origin"]["images_per_s"] > 0
        assert compared["ratio"] == pytest.approx(
            compared["ours"]["images_per_s"] / compared["origin"]["images_per_s"]
        )
    (parts,) = items["breakdown"]["gan_step"]
    assert 0 < parts["generator_forward_s"] < parts["ours_step_s"] and parts["origin_step_s"] > 0
    pair = items["breakdown"]["prepare_pair"]
    assert pair["pairs"] == 40 and all(ms > 0 for ms in pair["ms_per_pair"].values())
    assert items["predict_score"]["test_images"] == 8
    assert set(items["predict_score"]["rule_s"]) == {
        f"{r}_{m}" for r in ("predict", "score") for m in (*contract.BASELINES, "vae", "gan")
    }
    assert items["viewer"]["images"] == 20 and items["viewer"]["next_ms"] > 0
    assert items["dry_run"]["nothing_to_do"]
    allocator = items["allocator"]
    assert set(allocator["runs"]) == {
        f"{name}, {load}" for name in ("ours", "glibc default") for load in ("quiet", "loaded")
    }
    for run in allocator["runs"].values():
        assert run["images_per_s"] > 0 and 0 <= run["sys_share"] < 1
        assert 0 <= run["steady_sys_share"] < 1
    assert allocator["slowdown_under_load"]["ours"] > 0 and allocator["speedup_quiet"] > 0
    demo = items["demo"]
    assert demo["wall_s"] > 0 and set(demo["beats_damaged"]) == {"vae", "gan"}
    assert set(demo["means"]) == {*contract.BASELINES, "vae", "gan"}


@pytest.mark.skipif(not FACES.is_dir(), reason="needs ../shared/data/faces-dev")
def test_quality_item_trains_every_contender_for_the_budget_and_scores_them(quick_run):
    (contest,) = quick_run[0]["items"]["quality"]
    limit, steps = QUICK["quality"]["limit"], QUICK["quality"]["sampling_steps"]
    assert contest["size"] == 32 and contest["test_images"] + contest["train_images"] == limit
    scores = contest["scores"]
    assert set(scores) == {*contract.BASELINES, *CONTENDERS}
    for name in ("inpaint", "gan", "vae", "diffusion"):  # the restorers that find the damage
        assert set(scores[name]["mask"]) == {spec.name for spec in contract.MASK_SCORES}
    for name in ("gan", "vae"):  # each error taken apart: its fill, inpaint's fill
        assert set(scores[name]["split"]) == {"own_fill_true_mask", "classical_fill_found_mask"}
    assert set(scores["diffusion"]["split"]) == {
        "classical_fill_found_mask"
    }  # a sampler: no given mask
    buckets = scores["gan"]["buckets"]
    assert sum(bucket["n"] for bucket in buckets.values()) == contest["test_images"]
    sweep = scores["diffusion"]["sampling"]
    assert list(sweep) == [str(k) for k in steps]
    assert sweep["1"]["s_per_image"] < sweep[str(steps[-1])]["s_per_image"]  # many passes, one
    assert sweep["4"]["psnr"] == pytest.approx(scores["diffusion"]["psnr"])  # its own 4 steps
    assert f"| {steps[-1]} |" in quick_run[1] and "diffusion PSNR >= GAN's" in quick_run[1]
    for name in CONTENDERS:
        if name in QUICK["quality"]["overrides"]:  # the smoke run's tiny networks, not the recipe
            assert (
                scores[name]["settings"]["filters"]
                == QUICK["quality"]["overrides"][name]["filters"]
            )
        assert (
            scores[name]["training"]["train_s"] >= contest["budget_s"]
            and scores[name]["training"]["steps"] > 0
        )
    assert (
        scores["inpaint"]["psnr"] > scores["damaged"]["psnr"]
    )  # the classical baseline needs no training
    for name in CONTENDERS:  # every contender's curve ends at its final result
        curve = scores[name]["curve"]
        assert 1 <= len(curve) <= len(CURVE_FRACTIONS) + 1
        seconds = [point["s"] for point in curve]
        assert seconds == sorted(seconds) and seconds[-1] == scores[name]["training"]["train_s"]
        assert curve[-1]["psnr"] == scores[name]["psnr"]
        assert all(0 < point["ssim"] <= 1 for point in curve)
    markdown = quick_run[1]
    assert "GAN SSIM >= inpaint + 0.01" in markdown and "VAE SSIM >= inpaint + 0.01" in markdown
    assert "Time to quality" in markdown and "| our VAE |" in markdown
    assert "inpaint's fill in the true mask (oracle) |" in markdown
    assert (quick_run[2] / CURVE_PLOT).stat().st_size > 0


def test_time_to_quality_is_the_first_point_past_the_bar():
    curve = [
        {"s": 10, "psnr": 20.0, "ssim": 0.90},
        {"s": 20, "psnr": 26.0, "ssim": 0.80},
        {"s": 40, "psnr": 25.0, "ssim": 0.95},
        {"s": 80, "psnr": 27.0, "ssim": 0.96},
    ]
    bar = {"psnr": 25.5, "ssim": 0.94}
    assert quality.time_to_quality(curve, bar) == {"psnr": 20, "ssim": 40, "both": 80}
    assert quality.time_to_quality(curve, {"psnr": 30, "ssim": 0.5})["psnr"] is None


def test_a_rerun_of_some_sizes_keeps_the_other_sizes_contests():
    def contest(size, run):
        return {"size": size, "budget_s": 60, "date": run, "scores": {"vae": {"psnr": run}}}

    earlier = [contest(64, 1), contest(128, 1)]
    assert quality.merge(earlier, [contest(256, 2), contest(128, 2)]) == [
        contest(64, 1),
        contest(128, 2),
        contest(256, 2),
    ]
    failed = {"error": "no photos"}
    assert quality.merge(earlier, failed) == failed and quality.merge(failed, earlier) == earlier


def test_a_rerun_of_some_contenders_keeps_the_others_with_their_date():
    def contest(date, budget_s=1800, **scores):
        return {"size": 256, "budget_s": budget_s, "photos": "p", "date": date, "scores": scores}

    earlier = [contest("day 1", inpaint={"psnr": 31}, vae={"psnr": 34}, gan={"psnr": 30})]
    merged = quality.merge(earlier, [contest("day 2", inpaint={"psnr": 31}, gan={"psnr": 33})])
    assert merged == [
        contest(
            "day 2", inpaint={"psnr": 31}, gan={"psnr": 33}, vae={"psnr": 34, "measured": "day 1"}
        )
    ]
    # Kept again, a contender keeps the date of the run that measured it.
    again = quality.merge(merged, [contest("day 3", origin={"psnr": 22})])
    assert again[0]["scores"]["vae"]["measured"] == "day 1"
    assert again[0]["scores"]["gan"]["measured"] == "day 2"
    # Under another budget nothing of the earlier contest stays.
    other = quality.merge(earlier, [contest("day 2", budget_s=600, gan={"psnr": 33})])
    assert set(other[0]["scores"]) == {"gan"}


def test_markdown_reports_each_item_beside_its_target(quick_run):
    results, markdown, _ = quick_run
    for section in SECTIONS:
        assert section in markdown
    assert "Quick mode" in markdown
    assert results["machine"]["commit"] in markdown
    summary = markdown.split("## Summary")[1].split("## Prepare")[0]
    for target in [goal.text() for goal in TARGETS.values()] + [">= 2,000 images/s"]:
        assert target in summary


def test_a_targets_sentence_is_written_from_its_value():
    assert TARGETS["prepare_pairs_per_s"].text() == ">= 136.1 pairs/s (8,164 in 60 s)"
    assert TARGETS["origin_speedup"].text() == ">= 1.5x"
    assert TARGETS["slowdown_loaded"].text() == "<= 2.5x (fair share 2x)"
    assert TARGETS["demo_min"].text() == "<= 5 min"


def test_generated_data_stays_out_of_the_repository(quick_run):
    _, _, folder = quick_run
    assert (
        folder / "scratch" / "quick" / "humanface-like-40" / "landscape Images" / "color"
    ).is_dir()
    assert not (REPO / "results" / "bench").exists()


def test_lever_screen_trains_each_variant_for_its_epochs_and_scores_it(tmp_path):
    """Two variants of two families, at once, on a tiny prepared set: each restores the
    train images held out for validation, never the test split (the blend model with its
    found mask), and is scored as the benchmark scores."""
    import numpy as np
    from PIL import Image

    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for index in range(24):
        pixels = rng.integers(0, 256, (5, 5, 3), dtype=np.uint8)
        Image.fromarray(pixels).resize((40, 40), Image.Resampling.BICUBIC).save(
            photos / f"p{index}.png"
        )
    (tmp_path / "scratch").mkdir()
    dataset = quality.faces_dataset(16, tmp_path / "scratch", photos)
    small = '"filters": [8, 16], "batch_size": 4'
    plain = f'{{{small}, "discriminator_filters": [8], "blend": false, "fill_prior": false, "soft_blend": false, "mask_weight": 0}}'
    out = tmp_path / "screen"
    variants = [
        "--variant",
        f'head:vae:{{{small}, "latent_dim": 4}}',
        "--variant",
        f"plain:gan:{plain}",
    ]
    completed = subprocess.run(
        [sys.executable, "-m", "bench.lever_screen", str(dataset), str(out)]
        + ["--epochs", "vae=2,gan=1", "--parallel", "2", *variants],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=HANG_S,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    scores = json.loads((out / "scores.json").read_text())
    assert set(scores) == {"head", "plain"}
    assert [scores[label]["epochs"] for label in ("head", "plain")] == [2, 1]
    from bench.lever_screen import VALIDATION_SHARE
    from restorebench.data.dataset import read_names
    from restorebench.training.batches import validation_mask
    from restorebench.training.fit import TrainOptions

    names = read_names(dataset, "train")
    held = int(validation_mask(names, VALIDATION_SHARE, TrainOptions().seed).sum())
    assert held > 0
    assert {scores[label]["images"] for label in scores} == {held}
    assert {scores[label]["screened"] for label in scores} == {"validation"}
    assert len(np.load(out / "plain.npz")["restored"]) == held
    for label in scores:
        assert 0 < scores[label]["psnr"] < 99 and 0 < scores[label]["ssim"] <= 1
    assert {"found", "given"} <= set(np.load(out / "head.npz").files)
    assert "found" not in np.load(out / "plain.npz").files
    assert set(scores["head"]["split"]) == {"own_fill_true_mask", "classical_fill_found_mask"}
    assert scores["plain"]["split"] == {}


def test_the_error_split_fills_the_masks_it_is_given():
    """Given the true masks as found, inpaint's fill in them is the oracle; the clean image
    as the own fill scores a perfect fill."""
    from types import SimpleNamespace

    import numpy as np

    from restorebench.restore.baselines import fill_images

    rng = np.random.default_rng(1)
    clean = rng.integers(0, 256, (12, 24, 24, 3), dtype=np.uint8)
    mask = np.zeros((12, 24, 24), bool)
    mask[:, 8:11, :] = True
    damaged = np.where(mask[..., None], np.uint8(255), clean)
    test = SimpleNamespace(clean=clean, damaged=damaged, mask=mask)
    split = quality.error_split(test, {"found": mask.astype(np.uint8) * 255, "given": clean})
    oracle = quality.mean_scores(test, fill_images(damaged, mask))
    assert split["classical_fill_found_mask"]["hole_psnr"] == pytest.approx(oracle["hole_psnr"])
    assert split["own_fill_true_mask"]["hole_mse"] == 0.0
