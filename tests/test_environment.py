"""environment.yml, the rules' conda environment, installs what pyproject.toml asks for."""

import re
import tomllib

import yaml
from conftest import REPO

# conda-forge names that differ from PyPI's
CONDA_NAMES = {"pyqt": "pyqt6", "python-isal": "isal"}


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
            name = requirement_name(spec)
            listed.add(CONDA_NAMES.get(name, name))
    listed -= {"python", "pip"}
    assert listed == wanted, (
        f"only in environment.yml: {listed - wanted}; only in pyproject.toml: {wanted - listed}"
    )


def test_the_rules_environment_installs_restorebench_from_the_workflow_folder():
    """Snakemake runs <env>.post-deploy.sh inside the environment it made for the rules;
    the workflow exports its own folder for it, wherever Snakemake copied the env file."""
    script = REPO / "environment.post-deploy.sh"
    assert script.is_file() and script.stat().st_mode & 0o111
    body = [line for line in script.read_text().splitlines() if line and line[0] != "#"]
    assert body[-1].startswith("python -m pip install --no-deps")
    assert '--editable "${RESTOREBENCH_SOURCE:?' in body[-1]
    common = (REPO / "workflow/rules/common.smk").read_text()
    assert 'ENV = "../../environment.yml"' in common
    assert 'os.environ.setdefault("RESTOREBENCH_SOURCE", workflow.basedir)' in common
