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


def run_snakemake(workdir: Path, *args: str, check: bool = True, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run the repository's workflow in ``workdir`` (which holds its config.yaml)."""
    command = [*SNAKEMAKE, "-s", str(REPO / "Snakefile"), "--directory", str(workdir), *args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=timeout, env=env)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}")
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


@pytest.fixture
def needs_faces_dev():
    if not FACES_DEV.is_dir():
        pytest.skip(f"{FACES_DEV} is absent (shared data only exists beside the team's checkout)")
    return FACES_DEV
