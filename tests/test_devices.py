"""Each job on the GPUs it was given: the device-id allocator, with simulated ids.

No GPU is needed: ``CUDA_VISIBLE_DEVICES`` says which ids the workflow sees, and the
allocator's answer is the environment it leaves for the framework.
"""

import os
import subprocess
import sys

import pytest
from conftest import (
    TINY_WORKFLOW,
    copy_workflow,
    make_raw_photos,
    merge,
    snakemake_here,
    write_config,
)

from restorebench.runtime.devices import VISIBLE, claim_gpus, visible_gpus

CLAIM = """
import os, sys
from pathlib import Path
from restorebench.runtime.devices import claim_gpus
try:
    with claim_gpus(int(sys.argv[1]), Path(sys.argv[2])) as ids:
        print(",".join(ids), os.environ["CUDA_VISIBLE_DEVICES"], flush=True)
        if sys.argv[3:] == ["hold"]:  # until told to end
            sys.stdin.read()
except RuntimeError as error:
    print("refused:", error)
"""


def claim_elsewhere(count: int, slots, visible: str) -> str:
    """What another job (process) gets when it claims ``count`` GPUs now."""
    env = {**os.environ, VISIBLE: visible}
    env.pop("SLURM_JOB_ID", None)
    result = subprocess.run(
        [sys.executable, "-c", CLAIM, str(count), str(slots)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return result.stdout.strip()


@pytest.fixture
def four_gpus(monkeypatch):
    monkeypatch.setenv(VISIBLE, "0,1,2,3")
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)


def test_visible_ids_come_from_the_environment():
    assert visible_gpus({VISIBLE: "0, 2"}) == ["0", "2"]
    assert visible_gpus({VISIBLE: ""}) == [] and visible_gpus({VISIBLE: "-1"}) == []


def test_jobs_get_disjoint_gpus_and_a_job_that_finds_none_free_is_told_why(four_gpus, tmp_path):
    with claim_gpus(2, tmp_path) as mine:
        # This job sees only its own two now; the next job gets the other two.
        assert mine == ["0", "1"] and os.environ[VISIBLE] == "0,1"
        slots = tmp_path
        held = subprocess.Popen(
            [sys.executable, "-c", CLAIM, "2", str(slots), "hold"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, VISIBLE: "0,1,2,3"},
        )
        assert held.stdout.readline().strip() == "2,3 2,3"
        refused = claim_elsewhere(1, slots, "0,1,2,3")
        assert refused.startswith("refused: this job asks for 1 GPUs but only 0 of 0,1,2,3")
        assert "--resources gpu=" in refused
        held.communicate("")  # that job ends
        assert claim_elsewhere(2, slots, "0,1,2,3") == "2,3 2,3"
    # Released with the block (and by the kernel when a job dies): all four are free again.
    assert claim_elsewhere(4, tmp_path, "0,1,2,3") == "0,1,2,3 0,1,2,3"


def test_more_gpus_than_visible_is_refused(four_gpus, tmp_path):
    with (
        pytest.raises(RuntimeError, match="asks for 5 GPUs but 4 are visible"),
        claim_gpus(5, tmp_path),
    ):
        pass


def test_under_slurm_the_allocation_is_used_as_given_and_nothing_is_locked(tmp_path, monkeypatch):
    monkeypatch.setenv(VISIBLE, "3,5")
    monkeypatch.setenv("SLURM_JOB_ID", "17")
    with claim_gpus(2, tmp_path / "slots") as ids:
        assert ids == ["3", "5"] and os.environ[VISIBLE] == "3,5"
    assert not (tmp_path / "slots").exists()


def test_without_a_gpu_the_job_runs_on_the_cpu(tmp_path, monkeypatch):
    monkeypatch.setenv(VISIBLE, "")
    with claim_gpus(1, tmp_path) as ids:
        assert ids == [] and os.environ[VISIBLE] == ""


@pytest.mark.workflow
def test_trainings_in_parallel_each_train_on_their_own_gpus(tmp_path):
    """A real run on a simulated 3-GPU machine: the VAE asks for two GPUs, the GAN for one;
    run at once, each names its own devices, none shared."""
    workdir = copy_workflow(tmp_path)
    make_raw_photos(workdir / "raw")
    models = {"vae": {"epochs": 1, "gpus": 2}, "gan": {"epochs": 1}}
    write_config(workdir, merge(TINY_WORKFLOW, {"models": models}))
    paths = [f"results/tiny/models/{model}/restorer.keras" for model in models]
    # Two threads per training on four cores: Snakemake starts both at once.
    snakemake_here(
        workdir,
        *(*paths, "--cores", "4", "--set-threads", "train=2", "--resources", "gpu=3"),
        env={VISIBLE: "0,1,2"},
    )
    devices = {}
    for model in models:
        log = (workdir / f"results/tiny/logs/train_{model}.log").read_text()
        line = next(line for line in log.splitlines() if "GPU devices:" in line)
        assert line.endswith("(of 0,1,2 visible)")
        devices[model] = set(line.split("GPU devices: ")[1].split()[0].split(","))
    assert len(devices["vae"]) == 2 and len(devices["gan"]) == 1
    assert devices["vae"] | devices["gan"] == {"0", "1", "2"}
