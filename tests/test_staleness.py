"""A completed tiny run: the damage it scores, and only stale outputs rerun (Snakemake's
own dry-run plan)."""

import shutil

import numpy as np
import pytest
from conftest import TINY_WORKFLOW, merge, planned_jobs, save_photo, snakemake_here, write_config

from restorebench import contract
from restorebench.dataset import read_split
from restorebench.masks import score_masks
from restorebench.metrics import read_metrics
from restorebench.predictions import read_predictions

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
