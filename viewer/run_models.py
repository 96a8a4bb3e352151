"""A run's models: which it has (found from its file names, not from a list), and what the
viewer holds of one."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from restorebench import contract
from restorebench.contract import SummaryStat
from viewer.records import Record

# The stages whose outputs carry a provenance record: the model (models/<model>/provenance.json),
# its predictions (an HDF5 attribute) and its scores (metrics/<model>.provenance.json).
TRAINED, PREDICTED, SCORED = "trained", "predicted", "scored"


@dataclass
class Model:
    """One compared model: lazily read predictions (and the damage it found, if it stores
    any), its per-image scores and, for a model that finds damage, its mask scores."""

    name: str
    images: h5py.Dataset | None = None
    scores: dict[str, np.ndarray] | None = None
    masks: h5py.Dataset | None = None
    mask_scores: dict[str, np.ndarray] | None = None
    # The spec's scores (and mask scores) its usable file lacks: scored before the spec
    # gained them (an older run). The rest of the file is shown.
    unscored: list[str] = field(default_factory=list)
    mask_unscored: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    on_disk: bool = False  # some file of this model exists, usable or not
    # Stage -> what made that output, for each stage whose output exists.
    records: dict[str, Record] = field(default_factory=dict)


def _models_matching(pattern: str, folders: bool = False) -> set[str]:
    """The model names of the files (or folders) a RunPaths path made with model ``*`` matches."""
    path = Path(pattern)
    prefix, _, suffix = path.name.partition("*")
    return {
        p.name[len(prefix) : len(p.name) - len(suffix)]
        for p in path.parent.glob(path.name)
        if p.is_dir() == folders
    }


def discover_models(paths: contract.RunPaths, summary: list[SummaryStat]) -> list[str]:
    """The run's models: the trained ones (a ``models/<name>/`` folder, a predictions or a
    metrics file that is not a baseline's) in summary.csv's order, the others by name; then
    the baselines."""
    found = _models_matching(paths.model_dir("*"), folders=True)
    found |= _models_matching(paths.predictions("*"))
    found |= _models_matching(paths.metrics("*"))
    trained = found - set(contract.BASELINES)
    listed = [m for m in dict.fromkeys(row.model for row in summary) if m in trained]
    return listed + sorted(trained - set(listed)) + list(contract.BASELINES)
