"""Shared test helpers: real snakemake runs in a temporary working directory."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from bench.workflow import WORKFLOW_FILES

# A child process still running after this long has hung: tests set no limit that a slow
# or busy machine reaches (a workflow run on a loaded 2-core machine takes minutes).
HANG_S = 3600

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FACES_DEV = SHARED / "data" / "faces-dev"
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def default_config() -> dict:
    return yaml.safe_load((REPO / "config.yaml").read_text())


def merge(base: dict, overrides: dict) -> dict:
    """Deep-merge ``overrides`` into a copy of ``base``."""
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def write_config(workdir: Path, overrides: dict) -> dict:
    """Write ``workdir/config.yaml``: the repository's defaults with ``overrides``."""
    config = merge(default_config(), overrides)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return config


def run_snakemake(
    workdir: Path, *args: str, check: bool = True, timeout: int = HANG_S
) -> subprocess.CompletedProcess:
    """Run the repository's workflow in ``workdir`` (which holds its config.yaml)."""
    command = [*SNAKEMAKE, "-s", str(REPO / "Snakefile"), "--directory", str(workdir), *args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    result = subprocess.run(
        command, cwd=workdir, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}"
        )
    return result


def save_photo(path: Path, size: tuple[int, int] = (48, 40), seed: int = 0, **save_args) -> Path:
    """A small random-but-smooth RGB photo, saved in the format its suffix names."""
    rng = np.random.default_rng(seed)
    width, height = size
    base = rng.integers(0, 200, (height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    image = Image.fromarray(base).resize((width, height), Image.Resampling.BILINEAR)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **save_args)
    return path


def save_pair(
    clean: Path,
    damaged: Path,
    size: tuple[int, int] = (48, 40),
    seed: int = 0,
    damaged_size: tuple[int, int] | None = None,
) -> None:
    """A photo and its damaged partner: the same picture (stretched to ``damaged_size``) with a white scribble."""
    save_photo(clean, size, seed)
    image = Image.open(clean).convert("RGB").resize(damaged_size or size)
    pixels = np.asarray(image).copy()
    pixels[pixels.shape[0] // 3 : pixels.shape[0] // 3 + 2, :] = 255
    damaged.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(damaged)


@pytest.fixture
def needs_faces_dev():
    if not FACES_DEV.is_dir():
        pytest.skip(f"{FACES_DEV} is absent (shared data only exists beside the team's checkout)")
    return FACES_DEV


# A whole workflow at toy scale: 16 px, a couple of epochs, tiny networks.
TINY_WORKFLOW = {
    "run": "tiny",
    "dataset": {
        "source": "clean",
        "path": "raw",
        "image_size": 16,
        "min_side": 8,
        "test_fraction": 0.25,
    },
    "train": {"tensorboard": False, "validation_fraction": 0.2},
    "models": {
        "vae": {"family": "vae", "epochs": 2, "batch_size": 4, "filters": [8, 16], "latent_dim": 4},
        "gan": {
            "family": "gan",
            "epochs": 2,
            "batch_size": 4,
            "filters": [8, 16],
            "discriminator_filters": [8],
        },
    },
    "score": {"bootstrap": 200},
}


def copy_workflow(destination: Path) -> Path:
    """A user's clone of the workflow (no tests, no results) in ``destination``."""
    import shutil

    destination.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(
                source, destination / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(source, destination / name)
    return destination


def make_raw_photos(folder: Path, count: int = 12) -> None:
    for index in range(count):
        save_photo(folder / f"photo{index:02d}.jpg", (40, 32), seed=index)


def snakemake_here(
    workdir: Path, *args: str, check: bool = True, env: dict | None = None, timeout: int = HANG_S
):
    """Run snakemake with the workflow copied into ``workdir`` (as a user would)."""
    result = subprocess.run(
        [*SNAKEMAKE, *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}"
        )
    return result


def planned_jobs(dry_run_output: str) -> set[str]:
    """Jobs of a dry run as 'rule' or 'rule[wildcards]', from Snakemake's own plan."""
    jobs, rule = set(), None
    for line in dry_run_output.splitlines():
        stripped = line.strip()
        if stripped.startswith(("rule ", "localrule ")) and stripped.endswith(":"):
            if rule:
                jobs.add(rule)
            rule = stripped.split()[1].rstrip(":")
        elif rule and stripped.startswith("wildcards:"):
            rule = f"{rule}[{stripped.split(':', 1)[1].strip()}]"
    if rule:
        jobs.add(rule)
    return jobs


@pytest.fixture(scope="session")
def tiny_completed_run(tmp_path_factory) -> Path:
    """The whole tiny workflow, run locally once; tests copy it before changing anything."""
    workdir = copy_workflow(tmp_path_factory.mktemp("tiny-run"))
    make_raw_photos(workdir / "raw")
    write_config(workdir, TINY_WORKFLOW)
    snakemake_here(workdir, "--cores", "2")
    return workdir
