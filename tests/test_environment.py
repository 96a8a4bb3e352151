"""environment.yml, the rules' conda environment, installs what pyproject.toml asks for."""

import re
import tomllib

import yaml
from conftest import REPO

# conda-forge names that differ from PyPI's
CONDA_NAMES = {"pyqt": "pyqt6", "python-isal": "isal"}
INSTALLS_THIS_PROJECT = "--editable ."


def requirement_name(spec: str) -> str:
    return re.split(r"[<>=!~\[; ]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def environment() -> dict:
    return yaml.safe_load((REPO / "environment.yml").read_text())


def pip_specs() -> list[str]:
    return next(e["pip"] for e in environment()["dependencies"] if isinstance(e, dict))


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = {requirement_name(s) for s in project["dependencies"]}
    for extra in ("cpu", "download", "slurm"):
        wanted |= {requirement_name(s) for s in project["optional-dependencies"][extra]}
    listed = set()
    for entry in environment()["dependencies"]:
        specs = entry["pip"] if isinstance(entry, dict) else [entry]
        for spec in specs:
            if spec == INSTALLS_THIS_PROJECT:
                continue
            name = requirement_name(spec)
            listed.add(CONDA_NAMES.get(name, name))
    listed -= {"python", "pip"}
    assert listed == wanted, (
        f"only in environment.yml: {listed - wanted}; only in pyproject.toml: {wanted - listed}"
    )


def test_the_rules_environment_installs_restorebench_itself():
    """Conda runs the pip section from the file's folder, the project root: '.' is this project."""
    assert pip_specs()[-1] == INSTALLS_THIS_PROJECT
    assert (REPO / "environment.yml").parent == (REPO / "pyproject.toml").parent
