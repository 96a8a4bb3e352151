"""Helpers shared by the viewer tests: small synthetic runs, independent readers, offscreen Qt."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import h5py
import numpy as np

# Before pytest-qt creates the QApplication: no display is needed for the widget tests.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bench.fakerun import make_fake_run

REPO = Path(__file__).resolve().parents[1]
N_TEST, SIZE = 12, 24


def small_run(tmp_path: Path) -> Path:
    """A complete run: 12 test images at 24 px, vae/gan/damaged/inpaint with scores."""
    return make_fake_run(tmp_path / "run", N_TEST, SIZE, seed=7)


def read_metric(run: Path, model: str, metric: str) -> np.ndarray:
    """A metric column straight from the CSV, independent of the viewer's reader."""
    with open(run / "metrics" / f"{model}.csv", newline="") as handle:
        return np.array([float(row[metric]) for row in csv.DictReader(handle)])


def read_test(run: Path) -> dict[str, np.ndarray]:
    """The test split's clean and damaged arrays, read independently of the viewer.

    ``locking=False`` as in the viewer: HDF5 refuses to open one file twice in a
    process with different locking flags.
    """
    with h5py.File(run / "dataset.h5", "r", locking=False) as file:
        return {kind: file["test"][kind][()] for kind in ("clean", "damaged")}
