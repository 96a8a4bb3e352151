"""Experiments are config: any number of model entries train, score and show in one run.

The schema and the families' settings dataclasses agree; every preset in configs/ is
valid over config.yaml and builds its networks; old keys are refused with the way to
say them now; one real tiny run with three entries (the VAE and two GAN variants),
its staleness per entry, its report and its viewer.
"""

import csv
import dataclasses
import re
import shutil
from pathlib import Path

import numpy as np
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
from snakemake.utils import update_config, validate
from viewer_fixtures import read_metric  # also puts Qt offscreen before pytest-qt starts it

from restorebench import contract
from restorebench.data.dataset import read_split
from restorebench.models import families
from restorebench.models.families.base import read_settings
from restorebench.models.families.diffusion import steps_of
from restorebench.restore import inference

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
PRESETS = sorted(path.name for path in (REPO / "configs").glob("*.yaml"))


def schema_defaults(family: str) -> dict:
    """A model entry of ``family`` with the schema's defaults filled by Snakemake's validate."""
    config = {**default_config(), "models": {"m": {"family": family}}}
    validate(config, str(SCHEMA))
    return config["models"]["m"]


# -- the registry and the schema ---------------------------------------------------------------
@pytest.mark.parametrize("name", families.names())
def test_the_schema_declares_what_the_settings_dataclass_declares(name):
    family = families.load(name)
    defaults = {
        field.name: list(field.default) if isinstance(field.default, tuple) else field.default
        for field in dataclasses.fields(family.settings)
    }
    assert schema_defaults(name) == {"family": name, "gpus": 1, **defaults}


def test_the_schema_knows_exactly_the_registered_families():
    schema = yaml.safe_load(SCHEMA.read_text())
    branches = schema["properties"]["models"]["additionalProperties"]["allOf"]
    assert [b["if"]["properties"]["family"]["const"] for b in branches] == list(families.names())


def test_whether_a_model_finds_its_mask_is_its_family_s_answer(monkeypatch):
    """Blend on by default, as the settings say; a family whose restorer returns no paint
    mask never plans mask scores, and a registry that disagrees with its module is refused."""
    assert families.finds_mask({"family": "vae"}) is True
    assert families.finds_mask({"family": "gan", "blend": False}) is False
    registry = dict(families.FAMILIES)
    registry["gan"] = dataclasses.replace(registry["gan"], paint_mask=False)
    monkeypatch.setattr(families, "FAMILIES", registry)
    assert families.finds_mask({"family": "gan", "blend": True}) is False
    with pytest.raises(RuntimeError, match="with_paint_mask does not match"):
        families.load("gan")


def test_settings_errors_name_the_entry_and_the_key():
    family = families.load("gan")
    with pytest.raises(ValueError, match=r"models\.gan_b\.learnin_rate: unknown setting"):
        read_settings(family.settings, {"learnin_rate": 1e-3}, "models.gan_b")
    with pytest.raises(ValueError, match=r"models\.gan_b\.epochs: expected int"):
        read_settings(family.settings, {"epochs": "ten"}, "models.gan_b")
    with pytest.raises(ValueError, match=r"models\.gan_b\.blend: needs models\.gan_b\.input_skip"):
        read_settings(family.settings, {"input_skip": False}, "models.gan_b")
    with pytest.raises(ValueError, match="unknown model family 'flow'"):
        families.load("flow")


# -- the presets -------------------------------------------------------------------------------
@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_over_config_yaml_builds_its_networks(preset):
    """Merged over config.yaml as Snakemake merges --configfile, each entry makes its networks
    (config.yaml's blend needs input_skip, which a preset must not switch off alone)."""
    from restorebench.training.fit import build_trainer

    config = default_config()
    update_config(config, yaml.safe_load((REPO / "configs" / preset).read_text()))
    validate(config, str(SCHEMA))
    for name, entry in config["models"].items():
        family = families.load(entry["family"])
        settings = read_settings(family.settings, entry, f"models.{name}")
        trainer = build_trainer(family.name, config["dataset"]["image_size"], settings, seed=0)
        assert family.restorer(trainer).output_shape[1:] == (
            config["dataset"]["image_size"],
        ) * 2 + (3,)


def test_the_origin_presets_set_every_key_of_the_origins_recipe():
    """Presets merge over config.yaml: a key left out would keep our recipe's value."""
    origin = yaml.safe_load((REPO / "configs" / "origin.yaml").read_text())["models"]
    beside = yaml.safe_load((REPO / "configs" / "beside-origin.yaml").read_text())["models"]
    for name, entry in {**origin, **beside}.items():
        fields = {f.name for f in dataclasses.fields(families.load(entry["family"]).settings)}
        assert set(entry) == {"family", *fields}, name
    assert origin["gan"] == beside["gan_origin"] and origin["vae"] == beside["vae_origin"]


def test_the_cpu_preset_gives_the_benchmarked_recipe_at_256_px():
    """humanface8000 then cpu: config.yaml's recipe (the one the quality benchmark trains)
    at 256 px, only the epochs its own."""
    config = default_config()
    for preset in ("humanface8000.yaml", "cpu.yaml"):
        update_config(config, yaml.safe_load((REPO / "configs" / preset).read_text()))
    benchmarked = default_config()
    for both in (config, benchmarked):
        validate(both, str(SCHEMA))  # fills in the defaults
    assert config["dataset"]["image_size"] == 256
    for name, entry in benchmarked["models"].items():
        if name in config["models"]:
            assert {**config["models"][name], "epochs": entry["epochs"]} == entry, name


# -- the workflow's config checks ----------------------------------------------------------------
@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"train": {"gan": {"epochs": 3}}}, "config key train.gan: moved to models.gan"),
        ({"score": {"models": ["vae"]}}, "config key score.models: moved to models"),
        (
            {"models": {"gan_b": {"family": "gan", "learning_rate": -1.0}}},
            "config key models.gan_b.learning_rate: -1.0 is less than or equal to the minimum",
        ),
        (
            {"models": {"gan_b": {"family": "gan", "learnin_rate": 1.0}}},
            r"config key models.gan_b: Additional properties are not allowed \('learnin_rate'",
        ),
        (
            {"models": {"f": {"family": "flow"}}},
            "config key models.f.family: unknown family 'flow'",
        ),
        ({"models": {"inpaint": {"family": "gan"}}}, "config key models.inpaint: 'inpaint' is a"),
        (
            {"models": {"bad name": {"family": "gan"}}},
            "config key models: 'bad name' does not match",
        ),
        ({"score": {"baselines": ["median"]}}, "config key score.baselines: unknown baseline"),
        (
            {"score": {"rank_metric": "dists"}},
            "config key score.rank_metric: 'dists' is not a per-image metric",
        ),
        (
            {"score": {"rank_metric": "mask_iou"}},
            "config key score.rank_metric: 'mask_iou' is not a per-image metric",
        ),
        (
            {"models": {"vae": None, "gan": None}, "score": {"baselines": []}},
            "nothing to score",
        ),
    ],
)
def test_a_bad_config_is_refused_naming_the_key(tmp_path, overrides, message):
    write_config(tmp_path, overrides)
    result = run_snakemake(tmp_path, "--cores", "1", "--dry-run", check=False)
    assert result.returncode != 0
    assert re.search(message, result.stdout + result.stderr), result.stderr[-2000:]


# -- three entries in one real run ---------------------------------------------------------------
GAN_B = {**TINY_WORKFLOW["models"]["gan"], "learning_rate": 2.0e-4, "discriminator": "dense"}
DIFFUSION = {"family": "diffusion", "epochs": 2, "batch_size": 4, "filters": [8, 16], "steps": 2}
THREE = merge(
    TINY_WORKFLOW,
    {
        "models": {"gan": {"epochs": 1}, "gan_b": GAN_B, "diffusion": DIFFUSION},
        "score": {
            "baselines": ["damaged"],
            "comparisons": [["gan_b", "gan"], ["diffusion", "gan"]],
        },
    },
)
TRAINED = ("vae", "gan", "gan_b", "diffusion")


@pytest.fixture(scope="module")
def three_models_run(tmp_path_factory):
    """vae, gan, the variant gan_b (its own learning rate and head) and a diffusion model,
    run for real once."""
    workdir = copy_workflow(tmp_path_factory.mktemp("three-models"))
    make_raw_photos(workdir / "raw")
    write_config(workdir, THREE)
    snakemake_here(workdir, "--cores", "2")
    return workdir


@pytest.fixture
def three_models_copy(three_models_run, tmp_path):
    """A private copy of the completed run (mtimes kept), free to change."""
    return shutil.copytree(three_models_run, tmp_path / "run", symlinks=True)


@pytest.mark.workflow
def test_three_entries_train_score_and_summarize(three_models_run):
    from restorebench.restore.inference import load

    results = three_models_run / "results" / "tiny"
    paths = contract.RunPaths(str(results))
    for model in TRAINED:
        for path in (paths.restorer(model), paths.trainer_weights(model), paths.history(model)):
            assert Path(path).stat().st_size > 0
        assert load(paths.restorer(model)).output_shape[-1] == 3
    assert "gan_b epoch 2/2" in (results / "logs" / "train_gan_b.log").read_text()
    assert "gan epoch 1/1" in (results / "logs" / "train_gan.log").read_text()
    test = read_split(results / "dataset.h5", "test")
    with open(paths.summary, newline="") as handle:
        summary = {(row["model"], row["metric"]): row for row in csv.DictReader(handle)}
    assert {model for model, _ in summary} == {*TRAINED, "damaged"}
    for spec in contract.scores():
        values = read_metric(results, "gan_b", spec.name)
        defined = values[~np.isnan(values)]  # an image without such pixels has no region score
        if spec.may_be_missing and not defined.size:  # LPIPS: these images are too small
            assert ("gan_b", spec.name) not in summary
            continue
        row = summary["gan_b", spec.name]
        assert int(row["n"]) == len(defined) and len(test.names) >= len(defined) > 0
        assert float(row["mean"]) == pytest.approx(defined.mean())
    with open(paths.comparisons, newline="") as handle:
        pairs = {(row["a"], row["b"]) for row in csv.DictReader(handle)}
    assert pairs == {("gan_b", "gan"), ("diffusion", "gan")}
    assert "| gan_b |" in (results / "summary.md").read_text()
    assert "| diffusion |" in (results / "summary.md").read_text()
    assert steps_of(inference.load(paths.restorer("diffusion"))) == 2
    assert Path(paths.mask_scores("diffusion")).stat().st_size > 0  # its blend mask is scored
    for figure in ("examples_gan_b", "gan_b_vs_gan", "diffusion_vs_gan", "training"):
        assert (results / "plots" / f"{figure}.png").stat().st_size > 0


@pytest.mark.workflow
def test_editing_one_variant_reruns_only_that_variant(three_models_copy):
    assert (
        planned_jobs(snakemake_here(three_models_copy, "--cores", "2", "--dry-run").stdout) == set()
    )
    write_config(three_models_copy, merge(THREE, {"models": {"gan_b": {"l1_weight": 50.0}}}))
    jobs = planned_jobs(snakemake_here(three_models_copy, "--cores", "2", "--dry-run").stdout)
    assert jobs == {
        "train[model=gan_b]",
        "predict[model=gan_b]",
        "score[model=gan_b]",
        "score_masks[model=gan_b]",
        "summarize",
        "plot_distributions",
        "plot_by_mask_share",
        "plot_pair[a=gan_b, b=gan]",
        "plot_examples[model=gan_b]",
        "plot_best_worst",
        "plot_perception_distortion",
        "plot_training",
        "costs",
        "all",
    }
    # A training option every model shares reruns every model.
    write_config(three_models_copy, merge(THREE, {"train": {"seed": 7}}))
    jobs = planned_jobs(snakemake_here(three_models_copy, "--cores", "2", "--dry-run").stdout)
    assert {"train[model=vae]", "train[model=gan]", "train[model=gan_b]"} <= jobs
    # Dropping an entry with null plans nothing new for the others.
    write_config(three_models_copy, merge(THREE, {"models": {"vae": None}}))
    jobs = planned_jobs(snakemake_here(three_models_copy, "--cores", "2", "--dry-run").stdout)
    assert not {job for job in jobs if job.startswith(("train", "predict", "score"))}


@pytest.mark.workflow
def test_the_report_and_the_viewer_show_every_entry(three_models_copy, qtbot):
    from viewer.runfiles import Run
    from viewer.window import ViewerWindow

    snakemake_here(three_models_copy, "--cores", "1", "--report", "results/tiny/report.html")
    report = (three_models_copy / "results" / "tiny" / "report.html").read_text(errors="replace")
    assert "gan_b" in report and "diffusion" in report and "training curves" in report

    results = three_models_copy / "results" / "tiny"
    with Run(results) as run:
        assert run.problems == []
        assert set(run.score_models()) == {*TRAINED, "damaged"}
        assert set(run.image_models()) == set(TRAINED)
        assert run.image("diffusion", 0).shape == run.image("clean", 0).shape
        assert run.image("gan_b", 0).shape == run.image("clean", 0).shape
    window = ViewerWindow(results)
    qtbot.addWidget(window)
    assert window.problems == []
    assert set(window.panels.panels) == {"damaged", "clean", *TRAINED}
    window.condition.setText("gan_b.ssim <= gan.ssim or gan_b.ssim > gan.ssim")
    assert window.filter_error.text() == "" and window.table.rowCount() == run.size


@pytest.mark.workflow
def test_the_beside_origin_preset_plans_the_origins_models_beside_ours(tmp_path):
    make_raw_photos(tmp_path / "raw")
    write_config(tmp_path, TINY_WORKFLOW)
    preset = str(REPO / "configs" / "beside-origin.yaml")
    result = run_snakemake(tmp_path, "--cores", "2", "--dry-run", "--configfile", preset)
    jobs = planned_jobs(result.stdout)
    assert {
        f"{rule}[model={model}]"
        for rule in ("train", "predict", "score")
        for model in ("vae", "gan", "vae_origin", "gan_origin")
    } <= jobs
    assert {"plot_pair[a=gan, b=gan_origin]", "plot_pair[a=vae, b=vae_origin]"} <= jobs
