"""Scratch copies of the workflow and timed snakemake runs in them, as a user runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
# What a user's clone of the workflow holds (no tests, no results); tests copy it too.
WORKFLOW_FILES = (
    "Snakefile",
    "config.yaml",
    "environment.yml",
    "environment.post-deploy.sh",
    "workflow",
    "scripts",
    "viewer",
    "profiles",
)


class SnakemakeError(RuntimeError):
    pass


def merge(base: dict, overrides: dict) -> dict:
    merged = dict(base)
    for key, value in overrides.items():
        merged[key] = (
            merge(merged[key], value)
            if isinstance(value, dict) and isinstance(merged.get(key), dict)
            else value
        )
    return merged


def workflow_copy(folder: Path, overrides: dict | None = None) -> Path:
    """A clone of the workflow in ``folder`` with ``config.yaml`` = defaults + ``overrides``.

    Existing results are kept, so a completed run stays completed.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        source, target = REPO / name, folder / name
        if source.is_dir():
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    config = merge(yaml.safe_load((REPO / "config.yaml").read_text()), overrides or {})
    (folder / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return folder


def snakemake(folder: Path, *args: str, timeout: float = 3600) -> subprocess.CompletedProcess:
    """Run ``snakemake ARGS`` in ``folder``; a failure raises with the end of its output."""
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        check=False,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    if result.returncode != 0:
        raise SnakemakeError(
            f"snakemake {' '.join(args)} failed in {folder} ({result.returncode}):\n{result.stderr[-3000:]}"
        )
    return result


def rule_seconds(benchmark_tsv: Path) -> float:
    """The wall seconds Snakemake's ``benchmark:`` file recorded for one job."""
    lines = Path(benchmark_tsv).read_text().splitlines()
    return float(lines[-1].split("\t")[0])
