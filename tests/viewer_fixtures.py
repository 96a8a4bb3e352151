"""Helpers shared by the viewer tests: small synthetic runs, independent readers, offscreen Qt."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np

# Before pytest-qt creates the QApplication: no display is needed for the widget tests.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from conftest import HANG_S

from bench.fakerun import make_fake_run
from restorebench import contract
from restorebench.runtime import provenance

# qtbot waits end as soon as their condition holds: this long is reached only by a hang.
QT_WAIT_MS = 60_000

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


def rename_images(run: Path, names: list[str]) -> None:
    """Give the test images other names, consistently in dataset.h5, predictions and metrics."""
    strings = h5py.string_dtype()
    files = [run / "dataset.h5", *sorted((run / "predictions").glob("*.h5"))]
    for path in files:
        with h5py.File(path, "r+", locking=False) as file:
            group = file.get("test", file)
            del group["names"]
            group.create_dataset("names", data=names, dtype=strings)
    for path in sorted((run / "metrics").rglob("*.csv")):  # mask scores too
        with open(path, newline="") as handle:
            rows = list(csv.reader(handle))
        column = rows[0].index("name")
        for row, name in zip(rows[1:], names):
            row[column] = name
        with open(path, "w", newline="") as handle:
            csv.writer(handle).writerows(rows)


def empty_test_split(run: Path) -> None:
    """Leave dataset.h5 with a test split of 0 images (fakerun's train split is empty)."""
    with h5py.File(run / "dataset.h5", "r+", locking=False) as file:
        for key in ("clean", "damaged", "names"):
            del file["test"][key]
            file.copy(file["train"][key], file["test"], key)


def set_scores(run: Path, model: str, changes: dict[tuple[int, str], str]) -> None:
    """Overwrite cells of metrics/<model>.csv: {(row, metric): text}."""
    path = run / "metrics" / f"{model}.csv"
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    for (row, metric), text in changes.items():
        rows[1 + row][rows[0].index(metric)] = text
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows(rows)


# The scores the spec gained with LPIPS and FLIP (#33): a run scored before has none of them.
NEWER_SCORES = ("lpips", "flip", "hole_lpips", "intact_lpips")


def as_older_run(
    run: Path,
    dropped: tuple[str, ...] = NEWER_SCORES,
    models: tuple[str, ...] | None = None,
    masks: bool = False,
) -> Path:
    """Make ``run`` look scored before the spec had ``dropped``: those columns gone from
    metrics/<model>.csv (metrics/masks/<model>.csv with ``masks``) of ``models``, every
    model by default, and then their rows from summary.csv, as an older scorer and summary
    wrote them."""
    folder = run / "metrics" / "masks" if masks else run / "metrics"
    paths = sorted(folder.glob("*.csv"))
    for path in (p for p in paths if models is None or p.stem in models):
        with open(path, newline="") as handle:
            rows = list(csv.reader(handle))
        keep = [i for i, column in enumerate(rows[0]) if column not in dropped]
        with open(path, "w", newline="") as handle:
            csv.writer(handle).writerows([[row[i] for i in keep] for row in rows])
    if models is None and not masks:
        summary = run / "summary.csv"
        with open(summary, newline="") as handle:
            rows = list(csv.reader(handle))
        metric = rows[0].index("metric")
        with open(summary, "w", newline="") as handle:
            csv.writer(handle).writerows([r for r in rows if r[metric] not in dropped])
    return run


def as_shown(text: str) -> str:
    """The characters Qt puts on screen for a label or tooltip text (rich text is rendered)."""
    from PyQt6.QtCore import Qt
    from PyQt6.QtGui import QTextDocument

    if not Qt.mightBeRichText(text):
        return text
    document = QTextDocument()
    document.setHtml(text)
    return document.toPlainText()


def read_prediction(run: Path, model: str, index: int) -> np.ndarray:
    """One stored restoration, read independently of the viewer."""
    with h5py.File(run / "predictions" / f"{model}.h5", "r", locking=False) as file:
        return file["images"][index]


def grab_pixels(widget) -> np.ndarray:
    """What ``widget`` draws, as an (H, W, 3) uint8 array (Qt renders it, offscreen too)."""
    from PyQt6.QtGui import QImage

    shot = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    pixels = np.frombuffer(shot.constBits().asstring(shot.sizeInBytes()), np.uint8)
    pixels = pixels.reshape(shot.height(), shot.bytesPerLine())[:, : 3 * shot.width()]
    return pixels.reshape(shot.height(), shot.width(), 3)


def read_mask(run: Path, model: str | None = None) -> np.ndarray:
    """The stored masks, read independently of the viewer: the dataset's (N, H, W), 1 where
    damaged, or with ``model`` the damage that model found (0-255)."""
    if model is None:
        with h5py.File(run / "dataset.h5", "r", locking=False) as file:
            return file["test"]["mask"][()]
    with h5py.File(run / "predictions" / f"{model}.h5", "r", locking=False) as file:
        return file["mask"][()]


def read_mask_score(run: Path, model: str, score: str) -> np.ndarray:
    """A column of metrics/masks/<model>.csv, independent of the viewer's reader."""
    with open(run / "metrics" / "masks" / f"{model}.csv", newline="") as handle:
        return np.array([float(row[score]) for row in csv.DictReader(handle)])


def screenshot_loading_none(run_dir: Path, out: Path, bad: str, *args: str) -> None:
    """``python -m viewer RUN --screenshot OUT ARGS`` in a fresh interpreter; then no module
    name ``m`` of its ``sys.modules`` may satisfy the Python expression ``bad``."""
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['viewer', {str(run_dir)!r}, '--screenshot', {str(out)!r}, *{list(args)!r}]\n"
        "try:\n"
        "    runpy.run_module('viewer', run_name='__main__', alter_sys=True)\n"
        "except SystemExit as stop:\n"
        "    assert not stop.code, stop.code\n"
        f"loaded = [m for m in sys.modules if {bad}]\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
        check=False,
        timeout=HANG_S,
    )
    assert result.returncode == 0, result.stderr
    assert out.is_file()


# The resolved settings a GAN's training records (family, the family's settings, the options).
GAN_TRAINING = {
    "family": "gan",
    "model": {"ema": 0.999, "latent_dim": 64, "loss": {"adversarial": 1.0, "l1": 100.0}},
    "options": {"batch_size": 16, "epochs": 3, "jit_compile": "auto", "seed": 42},
}


def write_records(run: Path, trained: tuple[str, ...] = ("vae", "gan")) -> dict[str, str]:
    """Give a fake run the provenance records the workflow writes, through the project's
    writers: dataset.h5's and each prediction's attribute, each trained model's
    provenance.json (beside a stand-in restorer.keras: the viewer never opens it) and each
    metrics file's sidecar. Returns each stage's code digest (``dataset``, ``gan/trained``...)."""
    paths = contract.RunPaths(run.as_posix())
    codes = {"dataset": "d" * 16}
    with h5py.File(paths.dataset, "r+", locking=False) as file:
        entry = provenance.record(codes["dataset"], {"source": "fakerun", "damage": {"strokes": 4}})
        file.attrs[provenance.ATTRIBUTE] = provenance.encode(entry)
    for model in trained:
        codes[f"{model}/trained"] = f"{model[0]}{'1' * 15}"
        Path(paths.restorer(model)).parent.mkdir(parents=True, exist_ok=True)
        Path(paths.restorer(model)).write_bytes(b"stand-in")
        settings = {**GAN_TRAINING, "family": model}
        provenance.write(
            Path(paths.model_provenance(model)),
            provenance.record(codes[f"{model}/trained"], settings),
        )
    for path in sorted((run / "predictions").glob("*.h5")):
        model = path.stem
        codes[f"{model}/predicted"] = f"{model[0]}{'2' * 15}"
        entry = provenance.record(codes[f"{model}/predicted"], {"batch_size": 8, "family": model})
        with h5py.File(path, "r+", locking=False) as file:
            file.attrs[provenance.ATTRIBUTE] = provenance.encode(entry)
    for path in sorted((run / "metrics").glob("*.csv")):
        model = path.stem
        codes[f"{model}/scored"] = f"{model[0]}{'3' * 15}"
        settings = {"protocol": "ours", "metrics": list(contract.metric_names())}
        entry = provenance.record(codes[f"{model}/scored"], settings)
        provenance.write(Path(paths.metrics_provenance(model)), entry)
    return codes
