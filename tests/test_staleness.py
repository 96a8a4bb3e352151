"""A completed tiny run: the damage it scores, and only stale outputs rerun (Snakemake's
own dry-run plan)."""

import re
import shutil

import h5py
import numpy as np
import pytest
from conftest import (
    REPO,
    TINY_WORKFLOW,
    merge,
    planned_jobs,
    save_photo,
    snakemake_here,
    write_config,
)

from restorebench import contract
from restorebench.data.dataset import read_attrs, read_split
from restorebench.restore.predictions import read_predictions
from restorebench.runtime import provenance
from restorebench.runtime.code_digest import code_digest
from restorebench.scoring.mask_scores import score_masks
from restorebench.scoring.metrics import read_metrics

pytestmark = pytest.mark.workflow


@pytest.fixture
def run_copy(tiny_completed_run, tmp_path):
    """A private copy of the completed run (mtimes kept), free to change."""
    return shutil.copytree(tiny_completed_run, tmp_path / "run", symlinks=True)


def plan(workdir) -> set[str]:
    return planned_jobs(snakemake_here(workdir, "--cores", "2", "--dry-run").stdout)


def test_the_learned_models_paint_masks_are_scored(tiny_completed_run):
    """Both blend models store the paint mask they predict, scored against the dataset's."""
    results = tiny_completed_run / "results" / "tiny"
    test = read_split(results / "dataset.h5", "test")
    columns = contract.mask_score_names()
    for model in ("vae", "gan", "inpaint"):
        found = read_predictions(results / f"predictions/{model}.h5").masks
        assert found is not None and found.shape == test.mask.shape and found.dtype == np.uint8
        names, values = read_metrics(results / f"metrics/masks/{model}.csv", columns)
        assert names == test.names
        np.testing.assert_array_equal(values, score_masks(found, test.mask))
    assert read_predictions(results / "predictions/inpaint_oracle.h5").masks is None
    summary = (results / "summary.md").read_text().split("## Damage found")[1]
    assert all(f"| {model} |" in summary for model in ("vae", "gan", "inpaint"))


def test_nothing_is_planned_when_nothing_changed(run_copy):
    result = snakemake_here(run_copy, "--cores", "2", "--dry-run")
    assert planned_jobs(result.stdout) == set()
    assert "Nothing to be done" in result.stdout + result.stderr


def test_a_gan_setting_plans_the_gan_and_downstream_only(run_copy):
    write_config(run_copy, merge(TINY_WORKFLOW, {"models": {"gan": {"l1_weight": 50}}}))
    jobs = plan(run_copy)
    assert {"train[model=gan]", "predict[model=gan]", "score[model=gan]", "summarize"} <= jobs
    untouched = ("model=vae", "model=inpaint", "model=damaged")
    assert not {job for job in jobs if any(part in job for part in untouched)}
    assert "prepare" not in jobs


def test_a_new_image_size_plans_everything_from_the_dataset_on(run_copy):
    write_config(run_copy, merge(TINY_WORKFLOW, {"dataset": {"image_size": 32}}))
    jobs = plan(run_copy)
    assert {"prepare", "train[model=vae]", "train[model=gan]", "summarize"} <= jobs
    assert {f"predict[model={m}]" for m in ("damaged", "inpaint", "vae", "gan")} <= jobs


def test_a_new_raw_image_reprepares(run_copy):
    save_photo(run_copy / "raw" / "newcomer.jpg", (40, 32), seed=99)
    assert {"prepare", "train[model=vae]", "train[model=gan]"} <= plan(run_copy)


def test_an_edited_raw_image_reprepares(run_copy):
    edited = min((run_copy / "raw").iterdir())
    save_photo(edited, (40, 32), seed=1234)  # new pixels, same name
    assert "prepare" in plan(run_copy)


@pytest.mark.parametrize("deleted", ["predictions/gan.h5", "metrics/inpaint.csv"])
def test_a_deleted_per_model_file_is_rebuilt(run_copy, deleted):
    """Per-model predictions and scores are targets: deleting one plans it again."""
    (run_copy / "results" / "tiny" / deleted).unlink()
    jobs = plan(run_copy)
    model = deleted.split("/")[1].split(".")[0]
    rule = "predict" if deleted.startswith("predictions") else "score"
    assert f"{rule}[model={model}]" in jobs
    assert not {job for job in jobs if job.startswith("train")}


def test_editing_the_viewer_plans_nothing(run_copy):
    window = run_copy / "viewer" / "window.py"
    window.write_text(window.read_text() + "\n# a local tweak\n")
    assert plan(run_copy) == set()


# -- the library code in the rerun key (restorebench.runtime.code_digest) ------------------------------
SCORED_TINY = ("vae", "gan", "damaged", "inpaint", "inpaint_oracle")


@pytest.fixture
def library(run_copy):
    """A copy of the library inside the run, imported in place of the installed one."""
    shutil.copytree(
        REPO / "restorebench",
        run_copy / "restorebench",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return run_copy / "restorebench"


def plan_with_library(workdir, *args) -> set[str]:
    result = snakemake_here(
        workdir, "--cores", "2", "--dry-run", *args, env={"PYTHONPATH": str(workdir)}
    )
    return planned_jobs(result.stdout)


def edit(path, old, new):
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_a_comment_or_docstring_edit_of_the_library_plans_nothing(run_copy, library):
    edit(
        library / "scoring" / "metrics.py",
        "def mse(image: Scored) -> float:\n",
        "def mse(image: Scored) -> float:  # why\n",
    )
    edit(library / "training" / "fit.py", '"""', '"""Reworded. ')
    assert plan_with_library(run_copy) == set()


def test_a_metric_edit_plans_every_score_job_and_no_training(run_copy, library):
    edit(library / "scoring" / "metrics.py", "return math.inf\n", "return math.nan\n")
    jobs = plan_with_library(run_copy)
    assert {f"score[model={model}]" for model in SCORED_TINY} <= jobs
    assert "summarize" in jobs
    assert not {job for job in jobs if job.startswith(("train", "predict", "prepare"))}


def test_a_family_default_in_code_plans_that_family_only(run_copy, library):
    edit(library / "models" / "families" / "gan.py", "beta_1: float = 0.5", "beta_1: float = 0.6")
    jobs = plan_with_library(run_copy)
    assert {"train[model=gan]", "predict[model=gan]", "score[model=gan]"} <= jobs
    assert not {job for job in jobs if "model=vae" in job or job == "prepare"}


def test_shared_training_code_plans_every_training(run_copy, library):
    edit(library / "training" / "fit.py", "import contextlib\n", "import contextlib\nimport os\n")
    assert {"train[model=vae]", "train[model=gan]"} <= plan_with_library(run_copy)


def without_code_params(workdir) -> None:
    """The rules as they were before the code digest: a run made then has no `code` params."""
    rules = [*(workdir / "workflow" / "rules").glob("*.smk")]
    removed = 0
    for path in rules:
        text, count = re.subn(r'\n\s+(code=|"code": )library_code\([^)]*\),', "", path.read_text())
        path.write_text(text)
        removed += count
    assert removed >= 12, removed


def test_a_run_from_before_the_digest_is_stale_once_with_the_reason(run_copy):
    """README 'Upgrading': the rerun is announced with its reason, and --touch keeps the models."""
    current = run_copy / "workflow"
    shutil.copytree(current, run_copy / "workflow.now")
    without_code_params(run_copy)
    snakemake_here(run_copy, "--cores", "1", "--touch", "--forceall")
    assert plan(run_copy) == set()
    shutil.rmtree(current)
    (run_copy / "workflow.now").rename(current)
    restorer = run_copy / "results" / "tiny" / "models" / "gan" / "restorer.keras"
    model_bytes = restorer.read_bytes()

    result = snakemake_here(run_copy, "--cores", "2", "--dry-run")
    assert "train[model=gan]" in planned_jobs(result.stdout)
    assert "Params have changed since last execution" in result.stdout
    kept = snakemake_here(
        run_copy, "--cores", "2", "--dry-run", "--rerun-triggers", "mtime", "input"
    )
    assert planned_jobs(kept.stdout) == set()
    snakemake_here(run_copy, "--cores", "1", "--touch")
    assert plan(run_copy) == set()
    assert restorer.read_bytes() == model_bytes


def test_a_damaged_dataset_is_refused_before_a_model_is_deleted(run_copy):
    results = run_copy / "results" / "tiny"
    dataset = results / "dataset.h5"
    data = bytearray(dataset.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4096] = np.random.default_rng(0).bytes(4096)
    dataset.write_bytes(bytes(data))  # same size, newer than the models
    models = sorted((results / "models").rglob("*.*"))
    assert models

    result = snakemake_here(run_copy, "--cores", "2", check=False)
    assert result.returncode != 0
    assert f"{dataset.relative_to(run_copy)}: damaged" in result.stdout + result.stderr
    assert "no model was touched" in result.stdout + result.stderr
    assert sorted((results / "models").rglob("*.*")) == models


def test_every_output_records_the_code_and_settings_that_made_it(tiny_completed_run):
    """restorebench.runtime.provenance: the same digest Snakemake compares, defaults filled in."""
    results = tiny_completed_run / "results" / "tiny"
    scripts = REPO / "scripts"
    dataset = read_attrs(results / "dataset.h5")[provenance.ATTRIBUTE]
    assert dataset["code"] == code_digest(scripts / "prepare.py")
    assert dataset["settings"]["pair_tolerance"] == 6.0  # a default the config leaves out
    trained = provenance.read(results / "models" / "gan" / "provenance.json")
    assert trained["code"] == code_digest(
        scripts / "train.py", ["restorebench.models.families.gan"]
    )
    assert trained["settings"]["family"] == "gan"
    assert (
        trained["settings"]["model"]["beta_1"] == 0.5 and "seed" in trained["settings"]["options"]
    )
    with h5py.File(results / "predictions" / "gan.h5") as file:
        predicted = provenance.decode(file.attrs[provenance.ATTRIBUTE])
    assert predicted["code"] == code_digest(scripts / "predict.py")
    scored = provenance.read(results / "metrics" / "gan.provenance.json")
    assert scored["code"] == code_digest(scripts / "score.py")
    assert scored["settings"]["metrics"] == list(contract.metric_names())
    summary = (results / "summary.md").read_text().split("## Provenance")[1]
    assert f"| gan | {provenance.describe(trained)} | {provenance.describe(scored)} |" in summary
    assert "| inpaint | no training |" in summary
