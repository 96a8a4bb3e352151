"""The origin's recipe beside ours: train.vae_origin / train.gan_origin, scored as vae_origin / gan_origin.

Schema defaults (filled by Snakemake's own validate through $ref), the dry-run plan, one
real tiny run with gan_origin scored, its staleness, the viewer and the report on that
run, and the configs/origin.yaml preset merged over config.yaml.
"""

import copy
import csv
import shutil

import pytest
import yaml
from conftest import (
    REPO,
    TINY_WORKFLOW,
    copy_workflow,
    default_config,
    make_raw_photos,
    merge,
    planned_jobs,
    run_snakemake,
    snakemake_here,
    write_config,
)
from snakemake.exceptions import WorkflowError
from snakemake.utils import update_config, validate
from viewer_fixtures import read_metric  # also puts Qt offscreen before pytest-qt starts it

from restorebench.dataset import read_split
from restorebench.metrics import METRICS
from restorebench.summary import render_markdown, summarize

SCHEMAS = REPO / "workflow" / "schemas"
ORIGIN_FILTERS = [64, 128, 128, 256, 256, 512, 512, 512]
# The origin's recipe, key by key (docs/training.md): what vae/gan and vae_origin/gan_origin default to.
ORIGIN_VAE = {
    "epochs": 100,
    "batch_size": 64,
    "learning_rate": 1.0e-4,
    "filters": ORIGIN_FILTERS,
    "latent_dim": 64,
    "input_skip": False,
    "blend": False,
    "flip": False,
    "damage_weight": 0,
    "kl_weight": 1.0e-3,
}
ORIGIN_GAN = {
    "epochs": 100,
    "batch_size": 64,
    "learning_rate": 2.0e-4,
    "beta_1": 0.5,
    "filters": ORIGIN_FILTERS,
    "discriminator": "dense",
    "discriminator_filters": [64, 128, 256, 512],
    "input_skip": False,
    "blend": False,
    "flip": False,
    "damage_weight": 0,
    "dropout": 0.5,
    "l1_weight": 100,
}
TINY_ORIGIN_GAN = {"epochs": 1, "batch_size": 4, "filters": [8, 16], "discriminator_filters": [8]}
# TINY_WORKFLOW with the origin's GAN (tiny widths, 1 epoch, otherwise the origin's recipe:
# dense head, no input skip) scored beside ours (config.yaml: PatchGAN, input skip).
ORIGIN_RUN = merge(
    TINY_WORKFLOW,
    {
        "train": {"gan": {"epochs": 1}, "gan_origin": TINY_ORIGIN_GAN},
        "score": {
            "models": ["damaged", "gan", "gan_origin"],
            "comparisons": [["gan_origin", "gan"]],
        },
    },
)


def filled(section: str, data: dict) -> dict:
    """``data`` validated by Snakemake's own validate against a section schema, defaults filled."""
    data = copy.deepcopy(data)
    validate(data, str(SCHEMAS / f"{section}.schema.yaml"))
    return data


# -- schemas ----------------------------------------------------------------------------------
def test_origin_sections_default_to_the_origin_recipe_like_vae_and_gan():
    train = filled("train", {})
    assert train["vae"] == train["vae_origin"] == ORIGIN_VAE
    assert train["gan"] == train["gan_origin"] == ORIGIN_GAN
    # One $defs block per network kind, referenced by both sections (no duplicated key lists).
    schema = yaml.safe_load((SCHEMAS / "train.schema.yaml").read_text())
    for kind in ("vae", "gan"):
        assert schema["properties"][kind]["$ref"] == schema["properties"][f"{kind}_origin"]["$ref"]
        assert set(schema["$defs"][f"{kind}_settings"]["properties"]) == set(train[kind])


def test_a_partial_origin_section_is_completed_and_leaves_ours_alone():
    train = filled(
        "train", {"gan": {"epochs": 3, "discriminator": "patch"}, "vae_origin": {"epochs": 7}}
    )
    assert train["vae_origin"] == {**ORIGIN_VAE, "epochs": 7}
    assert train["gan"] == {**ORIGIN_GAN, "epochs": 3, "discriminator": "patch"}
    assert train["gan_origin"] == ORIGIN_GAN and train["vae"] == ORIGIN_VAE


@pytest.mark.parametrize(
    "train",
    [
        {"gan_origin": {"lr": 1}},
        {"vae_origin": {"epochs": 0}},
        {"gan_origin": {"discriminator": "x"}},
    ],
)
def test_a_bad_origin_value_is_refused(train):
    with pytest.raises(WorkflowError):
        filled("train", train)


def test_the_score_schema_names_the_origin_models():
    score = filled(
        "score", {"models": ["vae_origin", "gan_origin"], "comparisons": [["gan_origin", "gan"]]}
    )
    assert score["models"] == ["vae_origin", "gan_origin"]
    assert filled("score", {})["models"] == [
        "damaged",
        "inpaint",
        "vae",
        "gan",
    ]  # origin models: opt-in
    with pytest.raises(WorkflowError):
        filled("score", {"models": ["gan_orig"]})
    with pytest.raises(WorkflowError):
        filled("score", {"comparisons": [["gan", "vae_0rigin"]]})


def test_the_published_row_follows_the_model_trained_with_the_origins_recipe():
    import numpy as np

    tables = {
        m: np.full((3, 4), 0.5) + i for i, m in enumerate(("damaged", "vae", "vae_origin", "gan"))
    }
    stats, _ = summarize(tables, [], resamples=100)
    lines = render_markdown(stats, [], 0.95, 100, origin_stats=stats).splitlines()
    origin = lines[lines.index("## Origin protocol") :]
    rows = [
        line.split(" | ")[0]
        for line in origin
        if line.startswith("| ") and not line.startswith("| model")
    ]
    assert rows == [
        "| damaged",
        "| damaged (origin, published)",
        "| vae",
        "| vae_origin",
        "| vae (origin, published)",
        "| gan",
        "| gan (origin, published)",
    ]


# -- the workflow ------------------------------------------------------------------------------
@pytest.mark.workflow
def test_the_origin_models_are_planned_only_when_scored(tmp_path):
    make_raw_photos(tmp_path / "raw")
    write_config(tmp_path, TINY_WORKFLOW)
    jobs = planned_jobs(run_snakemake(tmp_path, "--cores", "2", "--dry-run").stdout)
    assert {"train_vae", "train_gan"} <= jobs
    assert not {job for job in jobs if "origin" in job}

    write_config(tmp_path, ORIGIN_RUN)
    jobs = planned_jobs(run_snakemake(tmp_path, "--cores", "2", "--dry-run").stdout)
    assert {
        "train_gan",
        "train_gan_origin",
        "predict[model=gan_origin]",
        "score[model=gan_origin]",
        "plot_pair[a=gan_origin, b=gan]",
        "plot_examples[model=gan_origin]",
        "plot_training",
    } <= jobs
    assert not {job for job in jobs if "vae" in job}


@pytest.fixture(scope="module")
def origin_run(tmp_path_factory):
    """The tiny workflow with score.models [damaged, gan, gan_origin], run for real once."""
    workdir = copy_workflow(tmp_path_factory.mktemp("origin-run"))
    make_raw_photos(workdir / "raw")
    write_config(workdir, ORIGIN_RUN)
    snakemake_here(workdir, "--cores", "2")
    return workdir


@pytest.fixture
def origin_copy(origin_run, tmp_path):
    """A private copy of the completed run (mtimes kept), free to change."""
    return shutil.copytree(origin_run, tmp_path / "run", symlinks=True)


@pytest.mark.workflow
def test_a_tiny_run_trains_scores_and_summarizes_gan_origin(origin_run):
    import keras

    results = origin_run / "results" / "tiny"
    models = results / "models"
    assert {p.name for p in models.iterdir()} == {
        f"{m}_{f}"
        for m in ("gan", "gan_origin")
        for f in ("generator.keras", "discriminator.keras", "history.csv")
    }
    assert "gan epoch 1/1" in (results / "logs" / "train_gan_origin.log").read_text()
    assert (results / "benchmarks" / "train_gan_origin.tsv").is_file()
    # Each GAN got its own settings: the origin's dense head, our PatchGAN (config.yaml).
    heads = {
        m: {
            layer.name
            for layer in keras.saving.load_model(
                models / f"{m}_discriminator.keras", safe_mode=True
            ).layers
        }
        for m in ("gan", "gan_origin")
    }
    assert "dense_logit" in heads["gan_origin"] and "patch_logits" not in heads["gan_origin"]
    assert "patch_logits" in heads["gan"] and "dense_logit" not in heads["gan"]

    test = read_split(results / "dataset.h5", "test")
    with open(results / "metrics" / "gan_origin.csv", newline="") as handle:
        assert [row["name"] for row in csv.DictReader(handle)] == test.names
    with open(results / "summary.csv", newline="") as handle:
        summary = {(row["model"], row["metric"]): row for row in csv.DictReader(handle)}
    assert {model for model, _ in summary} == {"damaged", "gan", "gan_origin"}
    for metric in METRICS:
        row = summary["gan_origin", metric]
        assert int(row["n"]) == len(test.names)
        assert float(row["mean"]) == pytest.approx(
            read_metric(results, "gan_origin", metric).mean()
        )
    with open(results / "comparisons.csv", newline="") as handle:
        assert {(row["a"], row["b"]) for row in csv.DictReader(handle)} == {("gan_origin", "gan")}
    assert "| gan_origin |" in (results / "summary.md").read_text()
    for figure in (
        "examples_gan_origin.png",
        "gan_origin_vs_gan.png",
        "training.png",
        "distributions.png",
    ):
        assert (results / "plots" / figure).stat().st_size > 0


@pytest.mark.workflow
def test_a_gan_origin_setting_plans_gan_origin_and_downstream_only(origin_copy):
    assert planned_jobs(snakemake_here(origin_copy, "--cores", "2", "--dry-run").stdout) == set()
    write_config(origin_copy, merge(ORIGIN_RUN, {"train": {"gan_origin": {"l1_weight": 50}}}))
    jobs = planned_jobs(snakemake_here(origin_copy, "--cores", "2", "--dry-run").stdout)
    assert jobs == {
        "train_gan_origin",
        "predict[model=gan_origin]",
        "score[model=gan_origin]",
        "summarize",
        "plot_distributions",
        "plot_pair[a=gan_origin, b=gan]",
        "plot_examples[model=gan_origin]",
        "plot_training",
        "all",
    }
    # And the other way round: our GAN's setting leaves the origin's GAN alone.
    write_config(origin_copy, merge(ORIGIN_RUN, {"train": {"gan": {"l1_weight": 50}}}))
    jobs = planned_jobs(snakemake_here(origin_copy, "--cores", "2", "--dry-run").stdout)
    assert {"train_gan", "predict[model=gan]"} <= jobs
    assert not {job for job in jobs if "gan_origin" in job and not job.startswith("plot_pair")}
    # An origin model that is not scored is not trained, whatever its settings.
    write_config(origin_copy, merge(ORIGIN_RUN, {"train": {"vae_origin": {"epochs": 3}}}))
    assert planned_jobs(snakemake_here(origin_copy, "--cores", "2", "--dry-run").stdout) == set()


@pytest.mark.workflow
def test_the_report_shows_the_origin_model(origin_copy):
    snakemake_here(origin_copy, "--cores", "1", "--report", "results/tiny/report.html")
    report = (origin_copy / "results" / "tiny" / "report.html").read_text(errors="replace")
    assert "gan_origin" in report and "training curves" in report


@pytest.mark.workflow
def test_the_viewer_shows_every_scored_model(origin_run, qtbot):
    from viewer.runfiles import Run
    from viewer.window import ViewerWindow

    results = origin_run / "results" / "tiny"
    with Run(results) as run:
        assert run.problems == []
        assert run.score_models() == ["gan", "gan_origin", "damaged"]
        assert run.image_models() == ["vae", "gan", "gan_origin"]  # vae: expected, "not available"
        image = run.image("gan_origin", 0)
        assert image.dtype == "uint8" and image.shape == run.image("clean", 0).shape
    window = ViewerWindow(results)
    qtbot.addWidget(window)
    assert window.problems == []
    assert list(window.model_boxes) == ["vae", "gan", "gan_origin"]
    assert list(window.panels.panels) == ["damaged", "clean", "vae", "gan", "gan_origin"]
    assert "gan_origin SSIM" in window.table.headers()
    assert window.summary.rowCount() == 3
    window.condition.setText("gan_origin.ssim <= gan.ssim or gan_origin.ssim > gan.ssim")
    assert window.filter_error.text() == "" and window.table.rowCount() == run.size


# -- the preset --------------------------------------------------------------------------------
def test_the_origin_preset_gives_the_origins_recipe_over_config_yaml():
    preset = yaml.safe_load((REPO / "configs" / "origin.yaml").read_text())
    # Every key of both networks is set (a key new to the schema must be added there too), so
    # whatever config.yaml sets for our recipe is replaced.
    schema = yaml.safe_load((SCHEMAS / "train.schema.yaml").read_text())
    for kind in ("vae", "gan"):
        assert set(preset["train"][kind]) == set(schema["$defs"][f"{kind}_settings"]["properties"])
    assert preset["train"]["vae"] == ORIGIN_VAE and preset["train"]["gan"] == ORIGIN_GAN
    config = default_config()
    update_config(config, preset)  # Snakemake's merge of --configfile over config.yaml
    validate(config, str(SCHEMAS / "config.schema.yaml"))
    for section in ("train", "score"):
        validate(config[section], str(SCHEMAS / f"{section}.schema.yaml"))
    defaults = filled("train", {})
    assert config["train"]["vae"] == defaults["vae"] and config["train"]["gan"] == defaults["gan"]
    assert config["dataset"]["source"] == "humanface8000" and config["dataset"]["image_size"] == 256
    assert config["score"]["models"] == ["damaged", "inpaint", "vae", "gan"]


@pytest.mark.workflow
def test_the_origin_preset_plans_the_study(tmp_path):
    write_config(tmp_path, {})
    result = run_snakemake(
        tmp_path, "--cores", "2", "--dry-run", "--configfile", str(REPO / "configs" / "origin.yaml")
    )
    jobs = planned_jobs(result.stdout)
    assert {
        "download_humanface8000",
        "prepare",
        "train_vae",
        "train_gan",
        "score_origin[model=gan]",
    } <= jobs
    assert not {job for job in jobs if "_origin" in job and not job.startswith("score_origin")}


@pytest.mark.parametrize("preset", sorted(path.name for path in (REPO / "configs").glob("*.yaml")))
def test_every_preset_over_config_yaml_builds_its_networks(preset):
    """A preset merged over config.yaml validates and its train settings make networks (e.g.
    config.yaml's blend needs input_skip, which a preset must not switch off alone)."""
    from restorebench.training import build_trainer

    config = default_config()
    update_config(config, yaml.safe_load((REPO / "configs" / preset).read_text()))
    validate(config, str(SCHEMAS / "config.schema.yaml"))
    validate(config["train"], str(SCHEMAS / "train.schema.yaml"))
    for kind in ("vae", "gan"):
        build_trainer(kind, config["dataset"]["image_size"], config["train"][kind], seed=0)
