"""Real snakemake runs of the training stage on a tiny demo dataset."""

import contextlib
import csv
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml
from conftest import (
    REPO,
    TINY_WORKFLOW,
    default_config,
    merge,
    planned_jobs,
    run_snakemake,
    write_config,
)

from restorebench.contract import RunPaths
from restorebench.data.dataset import read_split
from restorebench.restore.inference import restore_images

pytestmark = pytest.mark.workflow
TINY = merge(
    TINY_WORKFLOW,
    {"run": "t", "dataset": {"source": "demo", "path": None, "demo_images": 16}},
)
PATHS = RunPaths.of_run("t")
MODELS = [PATHS.restorer("vae"), PATHS.restorer("gan")]


def test_trains_both_models_and_reruns_only_what_a_config_change_touches(tmp_path):
    write_config(tmp_path, TINY)
    run_snakemake(tmp_path, "--cores", "2", *MODELS)
    for model in ("vae", "gan"):
        assert {p.name for p in (tmp_path / PATHS.model_dir(model)).iterdir()} == {
            "restorer.keras",
            "trainer.weights.h5",
            "history.csv",
            "provenance.json",
        }
        with open(tmp_path / PATHS.history(model)) as handle:
            assert [row["epoch"] for row in csv.DictReader(handle)] == ["0", "1"]
        log = (tmp_path / f"results/t/logs/train_{model}.log").read_text()
        assert f"{model} epoch 2/2" in log
        if sys.platform.startswith("linux"):  # the training job runs with the allocator setting
            assert "memory allocator: glibc keeps freed memory for reuse" in log
        assert (tmp_path / f"results/t/benchmarks/train_{model}.tsv").exists()
    test = read_split(tmp_path / "results/t/dataset.h5", "test")
    for path in MODELS:
        assert restore_images(tmp_path / path, test.damaged).shape == test.damaged.shape

    write_config(tmp_path, merge(TINY, {"models": {"gan": {"l1_weight": 50}}}))
    jobs = planned_jobs(run_snakemake(tmp_path, "--cores", "2", "--dry-run", *MODELS).stdout)
    assert jobs == {"train[model=gan]"}


def test_a_config_without_train_options_gets_their_defaults(tmp_path):
    config = merge(default_config(), TINY)
    del config["train"]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    result = run_snakemake(tmp_path, "--cores", "1", "--dry-run", MODELS[1])
    assert result.returncode == 0 and "rule train:" in result.stdout


@pytest.mark.parametrize(
    ("models", "key"),
    [
        ({"gan": {"filters": []}}, "models.gan.filters"),
        ({"vae": {"epochs": 0}}, "models.vae.epochs"),
        ({"gan": {"lr": 1}}, "models.gan"),
    ],
)
def test_a_bad_model_value_is_refused_before_any_work(tmp_path, models, key):
    write_config(tmp_path, merge(TINY, {"models": models}))
    result = run_snakemake(tmp_path, "--cores", "1", *MODELS, check=False)
    assert result.returncode != 0 and f"config key {key}" in result.stderr + result.stdout
    assert not (tmp_path / "results").exists()


def test_a_training_killed_mid_epoch_resumes_when_snakemake_runs_again(tmp_path):
    """kill -9 of Snakemake alone once epoch 1 is done: the trainer stops by itself; rerun; finish."""
    epochs = 25
    write_config(tmp_path, merge(TINY, {"models": {"vae": {"epochs": epochs}}}))
    log = tmp_path / "results/t/logs/train_vae.log"
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(REPO / "Snakefile"),
        "--cores",
        "2",
        MODELS[0],
    ]
    job = subprocess.Popen(
        command,
        cwd=tmp_path,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 300
        while not (log.exists() and f"vae epoch 1/{epochs}" in log.read_text()):
            assert job.poll() is None and time.monotonic() < deadline, (
                "training ended before it could be killed"
            )
            time.sleep(0.02)
        job.kill()  # Snakemake only: its job's trainer keeps running unless it watches
        job.wait()
        while "has ended: stopping this job" not in log.read_text():
            assert time.monotonic() < deadline, "the trainer outlived Snakemake"
            time.sleep(0.1)
    finally:
        with contextlib.suppress(ProcessLookupError):  # nothing of it is left
            os.killpg(job.pid, signal.SIGKILL)
    finished = log.read_text().count("vae epoch ")
    assert finished < epochs, "the kill came too late to interrupt the training"

    run_snakemake(tmp_path, "--cores", "1", "--unlock")
    run_snakemake(tmp_path, "--cores", "2", "--rerun-incomplete", MODELS[0])
    text = log.read_text()
    resumed = int(text.split("resuming after epoch ", 1)[1].split()[0])
    assert finished <= resumed <= finished + 1  # the epoch running at the kill may have been saved
    assert (
        f"vae epoch {resumed + 1}/{epochs}" in text and f"vae epoch {resumed}/{epochs}" not in text
    )
    with open(tmp_path / PATHS.history("vae")) as handle:
        assert [row["epoch"] for row in csv.DictReader(handle)] == [str(e) for e in range(epochs)]
    assert not (tmp_path / PATHS.backup("vae")).exists()
