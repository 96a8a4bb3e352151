"""Lazy, validating access to what the workflow wrote in ``results/<run>/``.

Every HDF5 file is opened once and read one image at a time, so opening a run costs
the names and the metric tables only. A missing file makes that model "not
available"; a broken or mismatched one adds a message to :attr:`Run.problems`
naming the file and the reason. Only an unusable ``dataset.h5`` is fatal
(:class:`RunError`), because without it there is nothing to compare against.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import h5py
import numpy as np

METRICS = ("mse", "nrmse", "ssim", "psnr")
# Models compared by the workflow, in display order; others found on disk follow.
KNOWN_MODELS = ("vae", "gan", "vae_origin", "gan_origin", "inpaint", "damaged")
# Every run scores these by default: they are listed even when absent ("not available").
EXPECTED_MODELS = ("vae", "gan", "inpaint", "damaged")
# Trained models whose panels always appear; the origin's recipe trained beside ours
# (ORIGIN_MODELS) and any other model appear when the run has their files.
TRAINED_MODELS = ("vae", "gan")
ORIGIN_MODELS = ("vae_origin", "gan_origin")
# The damaged input needs no panel of its own: its scores title the damaged panel.
INPUT_MODEL = "damaged"
SUMMARY_COLUMNS = ("model", "metric", "mean", "std", "median", "ci_low", "ci_high", "n")


class RunError(Exception):
    """The path is not a usable run directory."""


def _open_h5(path: Path) -> h5py.File:
    # No HDF5 file lock: a reader must never stop Snakemake from rewriting the file.
    return h5py.File(path, "r", locking=False)


def _names(dataset: h5py.Dataset) -> list[str]:
    return [n.decode() if isinstance(n, bytes) else str(n) for n in dataset[()]]


def _first_difference(got: list[str], expected: list[str]) -> str:
    if len(got) != len(expected):
        return f"{len(got)} names, the dataset's test split has {len(expected)}"
    row = next(i for i, (a, b) in enumerate(zip(got, expected)) if a != b)
    return f"row {row} is '{got[row]}', the dataset has '{expected[row]}'"


@dataclass
class Model:
    """One compared model: lazily read predictions and its per-image scores."""

    name: str
    images: h5py.Dataset | None = None
    scores: dict[str, np.ndarray] | None = None
    missing: list[str] = field(default_factory=list)
    on_disk: bool = False  # some file of this model exists, usable or not


@dataclass(frozen=True)
class SummaryRow:
    model: str
    metric: str
    mean: float
    std: float
    median: float
    ci_low: float
    ci_high: float
    n: int


class Run:
    """An open run directory. Call :meth:`close` (or use ``with``) to release the files."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.problems: list[str] = []
        self._files: list[h5py.File] = []
        self._open_dataset()
        self.models: dict[str, Model] = {}
        for name in self._discover_models():
            self.models[name] = self._open_model(name)
        self.summary, self.summary_source = self._read_summary()

    # -- dataset ---------------------------------------------------------------------------
    def _open_dataset(self) -> None:
        if not self.path.is_dir():
            raise RunError(
                f"{self.path}: not a directory (expected a run directory such as results/<run>)"
            )
        path = self.path / "dataset.h5"
        if not path.is_file():
            raise RunError(
                f"{self.path} is not a run directory: no dataset.h5 in it (the prepare rule writes one)"
            )
        try:
            file = _open_h5(path)
        except OSError as error:
            raise RunError(f"{path}: cannot be read as HDF5 ({error})") from error
        self._files.append(file)
        try:
            group = file["test"]
            self.clean, self.damaged = group["clean"], group["damaged"]
            self.names = _names(group["names"])
        except (KeyError, OSError) as error:
            self.close()
            raise RunError(
                f"{path}: no readable test split with clean, damaged and names ({error})"
            ) from error
        shape = self.clean.shape
        if self.clean.dtype != np.uint8 or len(shape) != 4 or shape[-1] != 3:
            self.close()
            raise RunError(
                f"{path}: test/clean must be uint8 (N, H, W, 3), got {self.clean.dtype} {shape}"
            )
        if (
            self.damaged.shape != shape
            or self.damaged.dtype != np.uint8
            or len(self.names) != shape[0]
        ):
            self.close()
            raise RunError(
                f"{path}: test split sizes disagree: clean {shape}, damaged {self.damaged.shape}, "
                f"{len(self.names)} names"
            )

    @property
    def size(self) -> int:
        return len(self.names)

    # -- models ----------------------------------------------------------------------------
    def _discover_models(self) -> list[str]:
        found = {p.stem for p in (self.path / "predictions").glob("*.h5")}
        found |= {p.stem for p in (self.path / "metrics").glob("*.csv")}
        known = [m for m in KNOWN_MODELS if m in EXPECTED_MODELS or m in found]
        return known + sorted(found - set(KNOWN_MODELS))

    def _open_model(self, name: str) -> Model:
        model = Model(name)
        model.on_disk = any(
            (self.path / sub / f"{name}{ext}").exists()
            for sub, ext in (("predictions", ".h5"), ("metrics", ".csv"))
        )
        if name != INPUT_MODEL:  # the input's pixels come from dataset.h5
            model.images = self._open_predictions(name, model)
        model.scores = self._read_scores(name, model)
        return model

    def _open_predictions(self, name: str, model: Model) -> h5py.Dataset | None:
        path = self.path / "predictions" / f"{name}.h5"
        rel = path.relative_to(self.path)
        if not path.is_file():
            model.missing.append(f"{rel} missing")
            return None
        try:
            file = _open_h5(path)
        except OSError as error:
            self._problem(model, f"{rel}: cannot be read as HDF5 ({error})")
            return None
        self._files.append(file)
        try:
            images, names = file["images"], _names(file["names"])
        except (KeyError, OSError) as error:
            self._problem(model, f"{rel}: needs datasets 'images' and 'names' ({error})")
            return None
        if images.dtype != np.uint8 or images.shape != self.clean.shape:
            self._problem(
                model,
                f"{rel}: images are {images.dtype} {images.shape}, "
                f"the dataset's test split is uint8 {self.clean.shape}",
            )
            return None
        if not self._names_match(model, rel, names):
            return None
        return images

    def _names_match(self, model: Model, rel: Path, names: list[str]) -> bool:
        if names == self.names:
            return True
        self._problem(
            model, f"{rel}: names do not match dataset.h5 ({_first_difference(names, self.names)})"
        )
        return False

    def _read_scores(self, name: str, model: Model) -> dict[str, np.ndarray] | None:
        path = self.path / "metrics" / f"{name}.csv"
        rel = path.relative_to(self.path)
        if not path.is_file():
            model.missing.append(f"{rel} missing")
            return None
        try:
            with open(path, newline="") as handle:
                rows = list(csv.reader(handle))
        except (OSError, UnicodeDecodeError) as error:
            self._problem(model, f"{rel}: cannot be read ({error})")
            return None
        header = rows[0] if rows else []
        lacking = [c for c in ("name", *METRICS) if c not in header]
        if lacking:
            self._problem(
                model,
                f"{rel}: header lacks {', '.join(lacking)} (expected name,{','.join(METRICS)})",
            )
            return None
        body = rows[1:]
        columns = {c: header.index(c) for c in ("name", *METRICS)}
        try:
            names = [row[columns["name"]] for row in body]
            values = {m: np.array([float(row[columns[m]]) for row in body]) for m in METRICS}
        except (IndexError, ValueError) as error:
            self._problem(model, f"{rel}: a row is short or not numeric ({error})")
            return None
        if not self._names_match(model, rel, names):
            return None
        return values

    def _problem(self, model: Model, message: str) -> None:
        model.missing.append(message)
        self.problems.append(message)

    def score_models(self) -> list[str]:
        """Models with usable scores, in display order."""
        return [name for name, model in self.models.items() if model.scores is not None]

    def image_models(self) -> list[str]:
        """Models other than the input that have or should have a panel, in display order.

        The trained models always appear (as "not available" when absent); a baseline
        appears when it has files, even unusable ones, so their message can be seen.
        """
        return [
            name
            for name, model in self.models.items()
            if name != INPUT_MODEL and (name in TRAINED_MODELS or model.on_disk)
        ]

    # -- images ----------------------------------------------------------------------------
    def image(self, kind: str, index: int) -> np.ndarray | None:
        """One (H, W, 3) uint8 image: 'clean', 'damaged' or a model's prediction (None if unavailable).

        Raises OSError when the stored chunk cannot be decoded (a damaged file).
        """
        if kind == "clean":
            return self.clean[index]
        if kind in ("damaged", INPUT_MODEL):
            return self.damaged[index]
        model = self.models.get(kind)
        if model is None or model.images is None:
            return None
        return model.images[index]

    # -- summary ---------------------------------------------------------------------------
    def _read_summary(self) -> tuple[list[SummaryRow], str]:
        """summary.csv when it is usable, else means computed from the metric files."""
        path = self.path / "summary.csv"
        if path.is_file():
            try:
                with open(path, newline="") as handle:
                    reader = csv.DictReader(handle)
                    lacking = [c for c in SUMMARY_COLUMNS if c not in (reader.fieldnames or [])]
                    if lacking:
                        raise ValueError(f"header lacks {', '.join(lacking)}")
                    rows = [
                        SummaryRow(
                            row["model"],
                            row["metric"],
                            *(float(row[c]) for c in SUMMARY_COLUMNS[2:7]),
                            int(float(row["n"])),
                        )
                        for row in reader
                    ]
                return rows, "summary.csv"
            except (OSError, UnicodeDecodeError, ValueError, TypeError) as error:
                self.problems.append(
                    f"summary.csv: unusable ({error}); showing means of metrics/*.csv"
                )
        return self._computed_summary(), "metrics/*.csv"

    def _computed_summary(self) -> list[SummaryRow]:
        rows = []
        for name in self.score_models():
            for metric, values in self.models[name].scores.items():
                finite = values[np.isfinite(values)]
                n = len(finite)
                mean = float(finite.mean()) if n else math.nan
                std = float(finite.std(ddof=1)) if n > 1 else math.nan
                half = 1.96 * std / math.sqrt(n) if n > 1 else math.nan
                median = float(np.median(finite)) if n else math.nan
                rows.append(
                    SummaryRow(name, metric, mean, std, median, mean - half, mean + half, n)
                )
        return rows

    # -- files -----------------------------------------------------------------------------
    def watched_paths(self) -> list[Path]:
        """Directories and files whose change means the run should be reloaded."""
        paths = [self.path, self.path / "predictions", self.path / "metrics"]
        files = [self.path / "dataset.h5", self.path / "summary.csv"]
        for sub in ("predictions", "metrics"):
            if (self.path / sub).is_dir():
                files += sorted((self.path / sub).iterdir())
        return [p for p in paths + files if p.exists()]

    def close(self) -> None:
        for file in self._files:
            file.close()
        self._files.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
