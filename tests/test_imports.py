"""The import rules of docs/ARCHITECTURE.md hold, and import-linter would catch a break."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

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
    for package in ("restorebench", "viewer"):
        shutil.copytree(
            REPO / package, destination / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    return destination


def test_the_import_contracts_are_kept():
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_viewer_module_reaching_the_training_code_breaks_a_contract(tmp_path):
    tree = copy_packages(tmp_path)
    table = tree / "viewer" / "table.py"
    table.write_text(table.read_text() + "\nimport restorebench.training.fit  # noqa\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "The viewer loads no Keras" in result.stdout and "BROKEN" in result.stdout


def test_the_library_importing_snakemake_breaks_a_contract(tmp_path):
    tree = copy_packages(tmp_path)
    plots = tree / "restorebench" / "plots.py"
    plots.write_text(plots.read_text() + "\nimport snakemake  # noqa\n")
    result = lint_imports(tree)
    assert result.returncode != 0 and "never imports snakemake BROKEN" in result.stdout


def test_the_contract_module_importing_a_stage_breaks_the_layers(tmp_path):
    tree = copy_packages(tmp_path)
    contract = tree / "restorebench" / "contract.py"
    contract.write_text(contract.read_text() + "\nimport restorebench.dataset  # noqa\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "restorebench.contract is not allowed to import restorebench.dataset" in result.stdout
