"""Real snakemake runs of predict -> score -> summarize -> plots -> report on a tiny demo run."""

import csv
import json
import shutil

import numpy as np
import pytest
from conftest import run_snakemake, write_config
from PIL import Image

from restorebench import contract
from restorebench.contract import RunPaths
from restorebench.data.dataset import read_split
from restorebench.restore.baselines import detect_damage, fill_images
from restorebench.restore.predictions import read_predictions
from restorebench.scoring.mask_scores import score_masks
from restorebench.scoring.metrics import image_metrics, read_metrics

pytestmark = pytest.mark.workflow
RUN = "s"
DATASET = {
    "source": "demo",
    "image_size": 32,
    "demo_images": 24,
    "test_fraction": 0.3,
    "min_side": 8,
}
BASELINES = {
    "baselines": ["damaged", "inpaint", "inpaint_oracle"],
    "comparisons": [["inpaint", "damaged"]],
    "bootstrap": 300,
    "seed": 5,
}
NO_MODELS = {"vae": None, "gan": None}


def configure(workdir, models=NO_MODELS, **score):
    return write_config(
        workdir,
        {"run": RUN, "dataset": DATASET, "models": models, "score": {**BASELINES, **score}},
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One full default-target run with the three baselines (no training needed)."""
    workdir = tmp_path_factory.mktemp("score")
    configure(workdir)
    result = run_snakemake(workdir, "--cores", "2")
    (workdir / "snakemake-output.txt").write_text(result.stdout + result.stderr)
    return workdir


def results(workdir):
    return workdir / "results" / RUN


def test_predictions_and_metrics_follow_the_test_split(run):
    test = read_split(results(run) / "dataset.h5", "test")
    assert len(test.names) >= 3
    for model in BASELINES["baselines"]:
        predictions = read_predictions(results(run) / f"predictions/{model}.h5")
        assert predictions.names == test.names and predictions.model == model
        names, values = read_metrics(results(run) / f"metrics/{model}.csv")
        assert names == test.names  # one row per test image, in test order
        expected = [
            image_metrics(c, p, m) for c, p, m in zip(test.clean, predictions.images, test.mask)
        ]
        np.testing.assert_array_equal(values, np.array(expected))
    np.testing.assert_array_equal(
        read_predictions(results(run) / "predictions/damaged.h5").images, test.damaged
    )
    damaged = read_metrics(results(run) / "metrics/damaged.csv")[1]
    inpainted = read_metrics(results(run) / "metrics/inpaint.csv")[1]
    assert inpainted[:, 0].mean() < damaged[:, 0].mean()  # the baseline does restore


def test_the_run_ends_with_its_scores_and_the_next_commands(run):
    output = (run / "snakemake-output.txt").read_text()
    closing = output[output.index(f"Done: results/{RUN}/") :]
    with open(results(run) / "summary.csv") as handle:
        rows = {row["model"]: row for row in csv.DictReader(handle) if row["metric"] == "psnr"}
    for model in BASELINES["baselines"]:
        line = next(line for line in closing.splitlines() if line.split()[:1] == [model])
        assert f"{float(rows[model]['mean']):.2f}" in line
    assert "LPIPS" in closing.splitlines()[1] and "FLIP" in closing.splitlines()[1]  # 32 px
    assert (
        f"-m viewer results/{RUN}" in closing and f"--report results/{RUN}/report.html" in closing
    )


def test_summary_equals_a_recomputation_from_the_csvs(run):
    with open(results(run) / "summary.csv") as file:
        rows = list(csv.DictReader(file))
    record = json.loads((results(run) / "summary.provenance.json").read_text())
    assert record["settings"] == {"resamples": 300, "confidence": 0.95, "seed": 5}
    assert list(rows[0]) == ["model", "metric", "mean", "std", "median", "ci_low", "ci_high", "n"]
    scores = [spec.name for spec in contract.scores()]
    masks = [spec.name for spec in contract.MASK_SCORES]
    assert [(r["model"], r["metric"]) for r in rows] == [
        *((m, k) for m in BASELINES["baselines"] for k in scores),
        *(("inpaint", k) for k in masks),  # the one baseline that finds the damage itself
    ]
    for row in rows:
        path = (
            f"metrics/masks/{row['model']}.csv"
            if row["metric"] in masks
            else f"metrics/{row['model']}.csv"
        )
        names = masks if row["metric"] in masks else contract.metric_names()
        values = read_metrics(results(run) / path, tuple(names))[1][:, names.index(row["metric"])]
        if not np.isfinite(values).all():  # intact pixels returned untouched
            assert row["metric"] == "intact_psnr" and float(row["mean"]) == np.inf
            continue
        indices = np.random.default_rng(BASELINES["seed"]).integers(
            0, len(values), (BASELINES["bootstrap"], len(values))
        )
        means = values[indices].mean(axis=1)
        expected = {
            "mean": values.mean(),
            "std": values.std(ddof=1),
            "median": np.median(values),
            "ci_low": np.quantile(means, 0.025),
            "ci_high": np.quantile(means, 0.975),
        }
        for key, value in expected.items():
            assert float(row[key]) == pytest.approx(value, rel=1e-12), (
                row["model"],
                row["metric"],
                key,
            )
        assert int(row["n"]) == len(values)
    with open(results(run) / "comparisons.csv") as file:
        comparisons = list(csv.DictReader(file))
    compared = [spec for spec in contract.scores() if spec.region != "intact"]
    assert [(c["a"], c["b"]) for c in comparisons] == [("inpaint", "damaged")] * len(compared)
    markdown = (results(run) / "summary.md").read_text()
    assert "| inpaint | damaged | MSE |" in markdown and "| damaged | " in markdown


def test_plots_are_pngs(run):
    plots = sorted(p.name for p in (results(run) / "plots").iterdir())
    assert plots == [
        "best_worst.png",
        "distributions.png",
        "examples_inpaint.png",
        "examples_inpaint_oracle.png",
        "hole_psnr_by_mask_share.png",
        "inpaint_vs_damaged.png",
        "perception_distortion.png",
    ]
    for name in plots:
        with Image.open(results(run) / "plots" / name) as image:
            assert image.format == "PNG"
    for rule in ("predict_inpaint", "score_damaged", "summarize", "plot_distributions"):
        assert (results(run) / f"logs/{rule}.log").exists()
        assert (results(run) / f"benchmarks/{rule}.tsv").exists()


def test_report_builds_with_figures_and_captions(run):
    report = results(run) / "report.html"
    run_snakemake(run, "--cores", "1", "--report", str(report))
    html = report.read_text()
    assert "percentile-bootstrap" in html  # a caption
    assert "examples_inpaint.png" in html and "distributions.png" in html
    assert "summary.html" in html  # the tables, shown in the page, not only as downloads
    assert "hole_psnr_by_mask_share.png" in html and "summary_buckets.csv" in html
    for item in ("perception_distortion.png", "best_worst.png", "costs.html"):
        assert item in html
    assert "summary_ratios.csv" in html
    page = (results(run) / "summary.html").read_text()
    # Whole image, damaged and intact pixels, seven by damaged share (PSNR, SSIM, LPIPS of the
    # damaged pixels; those and FLIP of the whole image; at 32 px every image has an LPIPS),
    # seven in 10 % steps, damage found, comparisons, provenance.
    assert page.count("<table>") == 19
    headings = (
        "The study's answer",
        "Damaged and intact pixels",
        "By damaged share",
        "By damaged share in 10 % steps",
        "Damage found",
        "Provenance",
    )
    for heading in headings:
        assert f"<h2>{heading}</h2>" in page
    for model in BASELINES["baselines"]:
        assert f"<td>{model}</td>" in page


def test_a_changed_inpaint_setting_reruns_only_the_inpaint_branch(run, tmp_path):
    configure(run, inpaint={"threshold": 240, "dilation": 0})
    try:
        dry = run_snakemake(run, "--cores", "2", "--dry-run").stdout
    finally:
        configure(run)
    outputs = {
        line.split(":", 1)[1].strip()
        for line in dry.splitlines()
        if line.strip().startswith("output:")
    }
    assert f"results/{RUN}/predictions/inpaint.h5" in outputs
    assert f"results/{RUN}/metrics/inpaint.csv" in outputs
    assert (
        not {f"results/{RUN}/predictions/damaged.h5", f"results/{RUN}/metrics/damaged.csv"}
        & outputs
    )


def test_origin_protocol_adds_its_table(tmp_path):
    configure(tmp_path, origin_protocol=True, baselines=["damaged"], comparisons=[])
    run_snakemake(tmp_path, "--cores", "2", f"results/{RUN}/summary.csv")
    test = read_split(results(tmp_path) / "dataset.h5", "test")
    names, values = read_metrics(results(tmp_path) / "metrics/origin/damaged.csv")
    assert names == test.names
    expected = [
        image_metrics(c, d, m, protocol="origin")
        for c, d, m in zip(test.clean, test.damaged, test.mask)
    ]
    np.testing.assert_array_equal(values, np.array(expected))
    assert (results(tmp_path) / "summary_origin.csv").exists()
    markdown = (results(tmp_path) / "summary.md").read_text()
    assert "## Origin protocol" in markdown and "damaged (origin, published) | 2522.9" in markdown


def test_a_trained_model_is_predicted_through_the_inference_api(run, tmp_path):
    """An identity 'model' saved where training puts the VAE: its predictions are the input."""
    import keras

    workdir = tmp_path / "w"
    shutil.copytree(run, workdir)
    inputs = keras.Input((32, 32, 3))
    model_path = workdir / RunPaths.of_run(RUN).restorer("vae")
    model_path.parent.mkdir(parents=True, exist_ok=True)
    keras.Model(inputs, keras.layers.Identity()(inputs)).save(model_path)
    configure(
        workdir,
        models={"vae": {"family": "vae", "blend": False}, "gan": None},  # no paint mask
        baselines=["damaged"],
        comparisons=[["vae", "damaged"]],
    )
    run_snakemake(
        workdir,
        "--cores",
        "2",
        f"results/{RUN}/metrics/vae.csv",
        f"results/{RUN}/plots/vae_vs_damaged.png",
    )
    vae = read_predictions(results(workdir) / "predictions/vae.h5")
    np.testing.assert_array_equal(
        vae.images, read_split(results(workdir) / "dataset.h5", "test").damaged
    )
    assert read_metrics(results(workdir) / "metrics/vae.csv")[0] == vae.names


def test_damage_is_scored_where_it_is(run):
    """The oracle fills the dataset's mask; inpaint's found mask is scored against it; the
    bucket table covers every test image once."""
    test = read_split(results(run) / "dataset.h5", "test")
    oracle = read_predictions(results(run) / "predictions/inpaint_oracle.h5")
    np.testing.assert_array_equal(oracle.images, fill_images(test.damaged, test.mask, workers=1))
    assert oracle.masks is None
    inpaint = read_predictions(results(run) / "predictions/inpaint.h5")
    np.testing.assert_array_equal(inpaint.masks > 0, detect_damage(test.damaged, workers=1))
    columns = contract.mask_score_names()
    names, values = read_metrics(results(run) / "metrics/masks/inpaint.csv", columns)
    assert names == test.names
    np.testing.assert_array_equal(values, score_masks(inpaint.masks, test.mask))
    assert not (results(run) / "metrics/masks/damaged.csv").exists()
    with open(results(run) / "summary_buckets.csv") as handle:
        rows = [row for row in csv.DictReader(handle) if row["metric"] == "psnr"]
    assert list(rows[0]) == list(contract.BUCKET_FIELDS)
    for model in BASELINES["baselines"]:
        counts = [int(row["n"]) for row in rows if row["model"] == model]
        assert len(counts) == 5 and sum(counts) == len(test.names)
    markdown = (results(run) / "summary.md").read_text()
    assert "| inpaint_oracle |" in markdown.split("## Damaged and intact pixels")[1]


def test_the_answer_is_made_from_the_runs_own_figures(run):
    """summary.md's answer quotes the summary's means and the comparisons' p-values."""
    with open(results(run) / "summary.csv") as handle:
        means = {(r["model"], r["metric"]): float(r["mean"]) for r in csv.DictReader(handle)}
    with open(results(run) / "comparisons.csv") as handle:
        p_values = {r["metric"]: float(r["p_value"]) for r in csv.DictReader(handle)}
    markdown = (results(run) / "summary.md").read_text()
    answer = markdown.split("## The study's answer")[1].split("\n## ")[0]
    paragraph = next(line for line in answer.splitlines() if line.startswith("**inpaint"))
    for metric in ("psnr", "ssim", "lpips", "flip"):
        spec = contract.metric(metric)
        p = p_values[metric]
        quoted = "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
        shown = (
            f"{spec.show(means['inpaint', metric])} against {spec.show(means['damaged', metric])}"
        )
        assert f"{spec.label} {shown}, {quoted}" in paragraph
    for aspect, (first, second) in {"pixels": ("psnr", "ssim"), "looks": ("lpips", "flip")}.items():
        clear = [p_values[m] <= 0.05 for m in (first, second)]
        if not any(clear):
            label = "On pixels" if aspect == "pixels" else "By perception"
            assert f"{label} (" in paragraph and "no clear difference between" in paragraph


def test_the_ratio_table_counts_every_image_in_10_percent_steps(run):
    test = read_split(results(run) / "dataset.h5", "test")
    with open(results(run) / "summary_ratios.csv") as handle:
        rows = [r for r in csv.DictReader(handle) if r["metric"] == "lpips"]
    assert list(rows[0]) == list(contract.BUCKET_FIELDS)
    for model in BASELINES["baselines"]:
        ours = [r for r in rows if r["model"] == model]
        assert [r["bucket"] for r in ours][:2] == ["0%-10%", "10%-20%"] and len(ours) == 10
        assert sum(int(r["n"]) for r in ours) == len(test.names)


def test_the_cost_table_is_every_benchmark_file(run):
    folder = results(run) / "benchmarks"
    with open(results(run) / "costs.csv") as handle:
        rows = {r["job"]: r for r in csv.DictReader(handle)}
    # Its own benchmark is written after it ends; every other job's before it starts.
    assert set(rows) == {p.stem for p in folder.glob("*.tsv")} - {"costs"}
    assert "summarize" in rows and "plot_best_worst" in rows
    with open(folder / "summarize.tsv") as handle:
        seconds = float(next(csv.DictReader(handle, delimiter="\t"))["s"])
    assert float(rows["summarize"]["seconds"]) == seconds
    page = (results(run) / "costs.html").read_text()
    assert page.count("<tr>") == len(rows) + 2  # header and total
    assert "<td>summarize</td>" in page and "max_rss" in page
