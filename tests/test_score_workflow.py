"""Real snakemake runs of predict -> score -> summarize -> plots -> report on a tiny demo run."""

import csv
import shutil

import numpy as np
import pytest
from conftest import run_snakemake, write_config
from PIL import Image

from restorebench import contract
from restorebench.contract import RunPaths
from restorebench.dataset import read_split
from restorebench.metrics import image_metrics, read_metrics
from restorebench.predictions import read_predictions

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
    "baselines": ["damaged", "inpaint"],
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
    """One full default-target run with the two baselines (no training needed)."""
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
    for model in ("damaged", "inpaint"):
        predictions = read_predictions(results(run) / f"predictions/{model}.h5")
        assert predictions.names == test.names and predictions.model == model
        names, values = read_metrics(results(run) / f"metrics/{model}.csv")
        assert names == test.names  # one row per test image, in test order
        expected = [image_metrics(c, p) for c, p in zip(test.clean, predictions.images)]
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
    assert (
        f"-m viewer results/{RUN}" in closing and f"--report results/{RUN}/report.html" in closing
    )


def test_summary_equals_a_recomputation_from_the_csvs(run):
    with open(results(run) / "summary.csv") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == ["model", "metric", "mean", "std", "median", "ci_low", "ci_high", "n"]
    assert [(r["model"], r["metric"]) for r in rows] == [
        (m, k) for m in ("damaged", "inpaint") for k in contract.metric_names()
    ]
    for row in rows:
        values = read_metrics(results(run) / f"metrics/{row['model']}.csv")[1][
            :, contract.metric_names().index(row["metric"])
        ]
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
    assert [(c["a"], c["b"]) for c in comparisons] == [("inpaint", "damaged")] * len(
        contract.METRICS
    )
    markdown = (results(run) / "summary.md").read_text()
    assert "| inpaint | damaged | MSE |" in markdown and "| damaged | " in markdown


def test_plots_are_pngs(run):
    plots = sorted(p.name for p in (results(run) / "plots").iterdir())
    assert plots == ["distributions.png", "examples_inpaint.png", "inpaint_vs_damaged.png"]
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
    page = (results(run) / "summary.html").read_text()
    assert page.count("<table>") == 2  # the scores and the paired comparisons
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
    expected = [image_metrics(c, d, protocol="origin") for c, d in zip(test.clean, test.damaged)]
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
        models={"vae": {"family": "vae"}, "gan": None},
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
