"""The library code in each rule's rerun key: what a script reaches, and what changes it."""

import json
import shutil
import subprocess
import sys

import pytest
from conftest import HANG_S, REPO

from restorebench.runtime.code_digest import code_digest, reached_modules

SCRIPTS = REPO / "scripts"


def short(modules) -> set[str]:
    return {module.removeprefix("restorebench.") for module in modules}


def test_training_reaches_its_family_and_no_scoring_code():
    reached = short(reached_modules(SCRIPTS / "train.py", ["restorebench.models.families.gan"]))
    assert {
        "training.fit",
        "training.callbacks",
        "models.families.gan",
        "scoring.similarity",
    } <= reached
    assert not reached & {
        "scoring.metrics",
        "scoring.mask_scores",
        "scoring.summary",
        "models.families.vae",
        "scoring.plots",
    }


def test_scoring_reaches_the_metrics_and_no_training_code():
    reached = short(reached_modules(SCRIPTS / "score.py"))
    assert {"scoring.metrics", "scoring.similarity", "contract", "restore.predictions"} <= reached
    assert not [module for module in reached if module.startswith(("training", "models"))]


def test_an_unknown_module_is_refused_by_name():
    with pytest.raises(ValueError, match="restorebench.models.families.flow: not a module"):
        reached_modules(SCRIPTS / "train.py", ["restorebench.models.families.flow"])


def digests_of_copy(tmp_path, edit=None) -> dict[str, str]:
    """Every script's digest against a copy of the library, once edited by ``edit``."""
    library = tmp_path / "lib" / "restorebench"
    if not library.exists():
        shutil.copytree(
            REPO / "restorebench", library, ignore=shutil.ignore_patterns("__pycache__")
        )
    if edit:
        edit(library)
    program = (
        "import json, sys; from pathlib import Path; import restorebench.runtime.code_digest as c;"
        "assert Path(c.__file__).is_relative_to(Path(sys.argv[1])), c.__file__;"
        "print(json.dumps({p.name: c.code_digest(p) for p in sorted(Path(sys.argv[2]).glob('*.py'))}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", program, str(library.parent), str(SCRIPTS)],
        env={"PYTHONPATH": str(library.parent)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=HANG_S,
        check=True,
    )
    return json.loads(result.stdout)


def replace(path, old, new):
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_the_copy_gives_the_installed_digests(tmp_path):
    assert digests_of_copy(tmp_path) == {
        path.name: code_digest(path) for path in sorted(SCRIPTS.glob("*.py"))
    }


def test_comments_docstrings_layout_and_the_release_number_change_nothing(tmp_path):
    before = digests_of_copy(tmp_path)

    def cosmetic(library):
        metrics = library / "scoring" / "metrics.py"
        replace(metrics, '"""Per-image restoration metrics', '"""Per-image metrics, reworded')
        replace(
            metrics,
            "def mse(image: Scored) -> float:\n",
            "def mse(image: Scored) -> float:  # a note\n",
        )
        replace(metrics, "DATA_RANGE, psnr_of\n", "(\n    DATA_RANGE,\n    psnr_of,\n)\n")
        replace(library / "__init__.py", '__version__ = "', '__version__ = "9')

    assert digests_of_copy(tmp_path, cosmetic) == before


def test_a_behaviour_edit_changes_the_scripts_that_reach_it(tmp_path):
    before = digests_of_copy(tmp_path)

    def new_metric_code(library):
        replace(library / "scoring" / "metrics.py", "return math.inf\n", "return math.nan\n")

    after = digests_of_copy(tmp_path, new_metric_code)
    changed = {name for name in before if before[name] != after[name]}
    assert {"score.py", "score_masks.py", "summarize.py", "plots.py"} <= changed
    assert not changed & {"train.py", "predict.py", "prepare.py"}


def test_a_lazy_import_is_followed(tmp_path):
    """scripts/train.py imports the training code inside a function."""
    before = digests_of_copy(tmp_path)
    after = digests_of_copy(
        tmp_path,
        lambda library: replace(
            library / "training" / "fit.py", "import contextlib\n", "import contextlib\nimport os\n"
        ),
    )
    assert before["train.py"] != after["train.py"]
    assert before["score.py"] == after["score.py"]
