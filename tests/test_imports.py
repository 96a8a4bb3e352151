"""The import rules of docs/ARCHITECTURE.md hold, and import-linter would catch a break."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    """import-linter on the packages found first on the path in ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(REPO / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def copy_packages(destination: Path) -> Path:
    for package in ("restorebench", "viewer", "bench", "scripts"):
        shutil.copytree(
            REPO / package, destination / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    return destination


def test_the_import_contracts_are_kept():
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "added", "expected"),
    [
        (
            "viewer/table.py",
            "restorebench.training.fit",
            ("The viewer loads no Keras", "BROKEN"),
        ),
        ("restorebench/scoring/plots.py", "snakemake", ("no snakemake, no bench", "BROKEN")),
        ("restorebench/data/prepare.py", "bench.fakerun", ("no snakemake, no bench", "BROKEN")),
        (
            "restorebench/contract.py",
            "restorebench.data.dataset",
            ("restorebench.contract is not allowed to import restorebench.data",),
        ),
        (
            "restorebench/data/masks.py",
            "restorebench.scoring.mask_scores",
            ("restorebench.data is not allowed to import restorebench.scoring",),
        ),
        (
            "restorebench/models/losses.py",
            "restorebench.scoring.metrics",
            ("a metric edit reruns no training", "BROKEN"),
        ),
        ("scripts/score.py", "bench.fakerun", ("Scripts are thin", "BROKEN")),
    ],
)
def test_a_forbidden_import_breaks_its_contract(tmp_path, module, added, expected):
    """The viewer reaching the training code, the library importing snakemake or the bench,
    the contract importing a role, data importing scoring, a model importing a metric, a
    script importing the bench: each on a copy of the packages, each caught."""
    source = copy_packages(tmp_path) / module
    source.write_text(source.read_text() + f"\nimport {added}  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    for text in expected:
        assert text in result.stdout
