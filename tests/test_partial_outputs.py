"""A finished run whose outputs were damaged afterwards: each reader names the file and the fix.

A damaged output is newer than its inputs, so Snakemake takes it for current; only the reader
can tell, and only the user's deleting it makes Snakemake build it again.
"""

import shutil

import pytest
from conftest import planned_jobs, snakemake_here

from restorebench.scoring.metrics import RESCORE_HINT, read_metrics

pytestmark = pytest.mark.workflow
# Only the damage decides what runs: the forced jobs and what a deleted file needs, never a
# rerun for code edited since the finished run was made.
MTIME = ("--rerun-triggers", "mtime")

RESULTS = "results/tiny"
# Every job of the tiny run that reads metrics/vae.csv, by its log's name.
VAE_READERS = {
    "summarize": "summarize",
    "plot_distributions": "plot_distributions",
    "plot_by_mask_share": "plot_by_mask_share",
    "plot_pair": "plot_gan_vs_vae",
    "plot_examples": "plot_examples_vae",
    "plot_best_worst": "plot_best_worst",
}


@pytest.fixture
def run_copy(tiny_completed_run, tmp_path):
    """A private copy of the completed run (mtimes kept), free to damage."""
    return shutil.copytree(tiny_completed_run, tmp_path / "run", symlinks=True)


def test_a_metrics_file_that_lost_rows_is_refused_by_every_reader(run_copy):
    """Before, summarize refused, the plots drew from fewer images and plot_pair died in numpy."""
    metrics = run_copy / RESULTS / "metrics" / "vae.csv"
    names, _ = read_metrics(metrics)
    metrics.write_text("".join(metrics.read_text().splitlines(keepends=True)[:-1]))
    result = snakemake_here(
        run_copy, "--cores", "2", *MTIME, "--keep-going", "--forcerun", *VAE_READERS, check=False
    )
    assert result.returncode != 0
    expected = (
        f"{RESULTS}/metrics/vae.csv: its rows are not the dataset's test images: "
        f"1 of the {len(names)} test images missing ({names[-1]}); {RESCORE_HINT}"
    )
    logs = {
        log: (run_copy / RESULTS / "logs" / f"{log}.log").read_text()
        for log in VAE_READERS.values()
    }
    assert {
        log: text for log, text in logs.items() if expected not in text or "Traceback" in text
    } == {}


def test_a_truncated_model_is_named_with_the_fix_and_the_fix_works(run_copy):
    model = run_copy / RESULTS / "models" / "vae" / "restorer.keras"
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])
    result = snakemake_here(
        run_copy,
        "--cores",
        "2",
        *MTIME,
        "--forcerun",
        "predict",
        f"{RESULTS}/predictions/vae.h5",
        check=False,
    )
    assert result.returncode != 0
    text = (run_copy / RESULTS / "logs" / "predict_vae.log").read_text()
    assert f"{RESULTS}/models/vae/restorer.keras: " in text, text
    assert text.rstrip().endswith("; delete it and run again: Snakemake trains it again"), text
    model.unlink()
    plan = planned_jobs(snakemake_here(run_copy, "--cores", "2", *MTIME, "--dry-run").stdout)
    assert "train[model=vae]" in plan and "train[model=gan]" not in plan
