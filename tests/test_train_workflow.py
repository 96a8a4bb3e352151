"""Real snakemake runs of the training stage on a tiny demo dataset."""

import csv
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml
from conftest import REPO, default_config, run_snakemake, write_config

from restorebench.dataset import read_split
from restorebench.inference import restore_images

pytestmark = pytest.mark.workflow
TINY = {
    "run": "t",
    "dataset": {"image_size": 16, "min_side": 8, "test_fraction": 0.25, "demo_images": 16},
    "train": {
        "validation_fraction": 0.2,
        "vae": {"epochs": 2, "batch_size": 4, "filters": [8, 16], "latent_dim": 4},
        "gan": {"epochs": 2, "batch_size": 4, "filters": [8, 16], "discriminator_filters": [8]},
    },
}
MODELS = ["results/t/models/vae.keras", "results/t/models/gan_generator.keras"]


def test_trains_both_models_and_reruns_only_what_a_config_change_touches(tmp_path):
    write_config(tmp_path, TINY)
    run_snakemake(tmp_path, "--cores", "2", *MODELS)
    models = tmp_path / "results/t/models"
    assert {p.name for p in models.iterdir()} == {
        "vae.keras",
        "vae_history.csv",
        "gan_generator.keras",
        "gan_discriminator.keras",
        "gan_history.csv",
    }
    for model in ("vae", "gan"):
        with open(models / f"{model}_history.csv") as handle:
            assert [row["epoch"] for row in csv.DictReader(handle)] == ["0", "1"]
        assert f"{model} epoch 2/2" in (tmp_path / f"results/t/logs/train_{model}.log").read_text()
        assert (tmp_path / f"results/t/benchmarks/train_{model}.tsv").exists()
    test = read_split(tmp_path / "results/t/dataset.h5", "test")
    for path in MODELS:
        assert restore_images(tmp_path / path, test.damaged).shape == test.damaged.shape

    write_config(
        tmp_path,
        {**TINY, "train": {**TINY["train"], "gan": {**TINY["train"]["gan"], "l1_weight": 50}}},
    )
    plan = run_snakemake(tmp_path, "--cores", "2", "--dry-run", *MODELS).stdout
    assert (
        "rule train_gan:" in plan and "rule train_vae:" not in plan and "rule prepare:" not in plan
    )


def test_a_config_without_a_train_section_gets_the_origin_defaults(tmp_path):
    config = default_config()
    del config["train"]
    config["run"] = "t"
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    result = run_snakemake(tmp_path, "--cores", "1", "--dry-run", "--printshellcmds", MODELS[1])
    assert result.returncode == 0 and "train_gan" in result.stdout


@pytest.mark.parametrize(
    ("train", "key"),
    [
        ({"gan": {"filters": []}}, "filters"),
        ({"vae": {"epochs": 0}}, "epochs"),
        ({"gan": {"lr": 1}}, "lr"),
    ],
)
def test_a_bad_train_value_is_refused_before_any_work(tmp_path, train, key):
    write_config(tmp_path, {**TINY, "train": train})
    result = run_snakemake(tmp_path, "--cores", "1", *MODELS, check=False)
    assert result.returncode != 0 and key in result.stderr + result.stdout
    assert not (tmp_path / "results").exists()


def test_a_training_killed_mid_epoch_resumes_when_snakemake_runs_again(tmp_path):
    """kill -9 of the whole job (Snakemake and the training) once epoch 1 is done; rerun; finish."""
    epochs = 25
    write_config(
        tmp_path,
        {**TINY, "train": {**TINY["train"], "vae": {**TINY["train"]["vae"], "epochs": epochs}}},
    )
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
    finally:
        os.killpg(job.pid, signal.SIGKILL)
        job.wait()
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
    with open(tmp_path / "results/t/models/vae_history.csv") as handle:
        assert [row["epoch"] for row in csv.DictReader(handle)] == [str(e) for e in range(epochs)]
    assert not (tmp_path / "results/t/models/vae_backup").exists()
