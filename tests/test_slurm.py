"""The SLURM profile, proven on a real single-node SLURM (Debian's slurm-wlm + munge).

The cluster is started from a configuration generated into a temporary folder, with a
fake GPU gres; the tiny workflow is submitted through profiles/slurm and compared with
a local run of the same configuration. Every daemon is stopped afterwards.
"""

import csv
import re
import shutil

import numpy as np
import pytest
from conftest import TINY_WORKFLOW, copy_workflow, make_raw_photos, snakemake_here, write_config
from slurm_cluster import LocalSlurm, missing_tools
from system_packages import apt_install

from restorebench.data.dataset import read_split

pytestmark = pytest.mark.workflow
SLURM_PACKAGES = ("slurm-wlm", "munge")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if missing_tools():
        reason = apt_install(*SLURM_PACKAGES)
        if reason or missing_tools():
            pytest.skip(f"SLURM not available: {reason or missing_tools()}")
    with LocalSlurm(tmp_path_factory.mktemp("slurm")) as running:
        yield running


def read_metrics(path):
    with open(path) as handle:
        return list(csv.DictReader(handle))


def test_the_workflow_runs_as_slurm_jobs_and_matches_a_local_run(
    cluster, tiny_completed_run, tmp_path
):
    workdir = copy_workflow(tmp_path / "cluster-run")
    make_raw_photos(workdir / "raw")
    write_config(workdir, TINY_WORKFLOW)
    result = snakemake_here(
        workdir,
        "--profile",
        "profiles/slurm",
        "--slurm-status-command",
        "squeue",
        "--slurm-init-seconds-before-status-checks",
        "1",
        "--seconds-between-status-checks",
        "2",
        "--latency-wait",
        "5",
        env=cluster.env,
        check=False,
    )
    output = result.stdout + result.stderr
    if result.returncode != 0:
        job_logs = "\n".join(
            f"--- {p}\n{p.read_text()[-3000:]}"
            for p in (workdir / ".snakemake/slurm_logs").rglob("*.log")
        )
        pytest.fail(f"the SLURM run failed:\n{output[-4000:]}\n{job_logs}")
    submitted = dict(re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", output))
    jobs = {job["JobId"]: job for job in cluster.jobs()}
    assert submitted and set(submitted.values()) <= set(jobs)
    rules = {}
    for job_id in submitted.values():
        rule = re.match(r"rule_(.+?)(?:_wildcards_.*)?$", jobs[job_id]["Comment"]).group(1)
        rules.setdefault(rule, []).append(jobs[job_id])
        assert jobs[job_id]["JobState"] == "COMPLETED", jobs[job_id]
    assert {"prepare", "train", "predict", "score", "summarize"} <= set(rules)
    assert len(rules["train"]) == 2  # vae and gan
    assert all("gpu" in job.get("TresPerJob", "") for job in rules["train"]), rules["train"]
    assert not any("gpu" in job.get("TresPerJob", "") for job in rules["prepare"] + rules["score"])

    local, remote = tiny_completed_run / "results/tiny", workdir / "results/tiny"
    assert sorted(
        p.relative_to(local).as_posix()
        for p in local.rglob("*")
        if p.is_file() and "logs" not in p.parts
    ) == sorted(
        p.relative_to(remote).as_posix()
        for p in remote.rglob("*")
        if p.is_file() and "logs" not in p.parts
    )
    for split in ("train", "test"):
        here, there = (
            read_split(local / "dataset.h5", split),
            read_split(remote / "dataset.h5", split),
        )
        assert here.names == there.names and np.array_equal(here.clean, there.clean)
        assert np.array_equal(here.damaged, there.damaged)
    for model in ("damaged", "inpaint"):
        assert read_metrics(local / f"metrics/{model}.csv") == read_metrics(
            remote / f"metrics/{model}.csv"
        )
    for model in ("vae", "gan"):
        here, there = (
            read_metrics(local / f"metrics/{model}.csv"),
            read_metrics(remote / f"metrics/{model}.csv"),
        )
        assert [row["name"] for row in here] == [row["name"] for row in there]
    shutil.rmtree(workdir / ".snakemake", ignore_errors=True)
