"""environment.yml (conda users) lists the same dependencies as pyproject.toml."""

import re
import tomllib

import yaml
from conftest import REPO

# conda-forge names that differ from PyPI's
CONDA_NAMES = {"pyqt": "pyqt6", "python-isal": "isal"}


def requirement_name(spec: str) -> str:
    return re.split(r"[<>=!~\[; ]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = {requirement_name(s) for s in project["dependencies"]}
    for extra in ("cpu", "download", "slurm"):
        wanted |= {requirement_name(s) for s in project["optional-dependencies"][extra]}
    environment = yaml.safe_load((REPO / "environment.yml").read_text())
    listed = set()
    for entry in environment["dependencies"]:
        specs = entry["pip"] if isinstance(entry, dict) else [entry]
        for spec in specs:
            name = requirement_name(spec)
            listed.add(CONDA_NAMES.get(name, name))
    listed -= {"python", "pip"}
    assert listed == wanted, (
        f"only in environment.yml: {listed - wanted}; only in pyproject.toml: {wanted - listed}"
    )
