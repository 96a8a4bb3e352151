"""Lazy, validating access to what the workflow wrote in ``results/<run>/``.

Every HDF5 file is opened once and read one image at a time (an image, its damage mask, a
model's found mask), so opening a run costs the names and the metric tables only. A
missing file makes that model "not available"; a broken or mismatched one adds a message
to :attr:`Run.problems` naming the file and the reason. Only an unusable ``dataset.h5`` is fatal
(:class:`RunError`), because without it there is nothing to compare against.

Paths, metric names and the summary's columns come from ``restorebench.contract``
(standard library only, so the viewer still starts without numpy's heavy friends).
Models are whatever the run folder holds: a trained model is a ``models/<name>/``
folder or any prediction or metrics file that is not a baseline's.

Each output's provenance record (:mod:`viewer.records`: the release, the code
digest, the resolved settings) is read with it: an output made before records has
none, and a broken record is a problem, never a reason to drop the output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

import h5py
import numpy as np

from restorebench import contract
from restorebench.contract import SummaryStat
from viewer.records import Record, attribute_record, sidecar_record
from viewer.run_models import PREDICTED, SCORED, TRAINED, Model, discover_models
from viewer.score_files import ScoreFileError, impossible_scores, read_score_file
from viewer.summaries import (
    COMPUTED_INTERVAL,
    computed_summary,
    interval_label,
    read_buckets,
    read_summary,
)

# The damaged input needs no panel of its own: its scores title the damaged panel.
INPUT_MODEL = contract.INPUT_MODEL
# The two panels every run has, before its models: the input and the reference.
DAMAGED, CLEAN = "damaged", "clean"
FIXED_PANELS = (DAMAGED, CLEAN)
MASK = contract.MASK_DATASET


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


class Run:
    """An open run directory. Call :meth:`close` (or use ``with``) to release the files."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.paths = contract.RunPaths(self.path.as_posix())
        self.problems: list[str] = []
        self._files: list[h5py.File] = []
        self._open_dataset()
        summary, problem = read_summary(Path(self.paths.summary))
        self.problems += [problem] if problem else []
        self.models: dict[str, Model] = {}
        for name in discover_models(self.paths, summary or []):
            self.models[name] = self._open_model(name)
        self._name_vanished_models(summary or [])
        self._name_older_scores()
        if summary is None:
            scores = {name: self.models[name].scores for name in self.score_models()}
            self.summary, self.summary_source = computed_summary(scores), "metrics/*.csv"
            self.interval = COMPUTED_INTERVAL
        else:
            self.summary, self.summary_source = summary, "summary.csv"
            record, problem = sidecar_record(self.paths.summary, self.paths.summary_provenance)
            self.problems += [problem] if problem else []
            self.interval = interval_label(record)
        self.buckets, problem = read_buckets(Path(self.paths.summary_buckets))
        self.problems += [problem] if problem else []

    # -- dataset ---------------------------------------------------------------------------
    def _open_dataset(self) -> None:
        if not self.path.is_dir():
            raise RunError(
                f"{self.path}: not a directory (expected a run directory such as results/<run>)"
            )
        path = Path(self.paths.dataset)
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
        if not self.names:
            self.close()
            raise RunError(
                f"{path}: the test split is empty, nothing to show "
                "(see dataset.test_fraction in the run's config)"
            )
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
        self.mask = self._open_mask(group, path)
        self.dataset_record = self._reported(attribute_record(file, path.name))

    def _open_mask(self, group: h5py.Group, path: Path) -> h5py.Dataset | None:
        """test/mask, or None (a dataset from before masks, or an unusable one): then each
        image's mask is recovered from its pair when it is shown."""
        return self._checked_masks(
            group, f"{path.name}: test/{MASK}", "the masks are recovered from the pairs instead"
        )

    def _checked_masks(self, group: h5py.Group, where: str, instead: str) -> h5py.Dataset | None:
        """``group``'s masks if they are uint8, one per test image; else a problem named
        ``where`` saying what happens ``instead``, and None."""
        if MASK not in group:
            return None
        masks = group[MASK]
        if masks.dtype != np.uint8 or masks.shape != self.clean.shape[:3]:
            self.problems.append(
                f"{where} is {masks.dtype} {masks.shape}, expected uint8 "
                f"{self.clean.shape[:3]}; {instead}"
            )
            return None
        return masks

    @property
    def mask_recovered(self) -> bool:
        """Whether the damage masks are recovered from the pairs (none stored in dataset.h5)."""
        return self.mask is None

    @property
    def size(self) -> int:
        return len(self.names)

    # -- models ----------------------------------------------------------------------------
    def _open_model(self, name: str) -> Model:
        model = Model(name)
        model.on_disk = any(
            Path(path).exists() for path in (self.paths.predictions(name), self.paths.metrics(name))
        )
        trained = (self.paths.restorer(name), self.paths.model_provenance(name))
        self._keep_record(model, TRAINED, sidecar_record(*trained))
        if name != INPUT_MODEL:  # the input's pixels come from dataset.h5
            model.images = self._open_predictions(name, model)
        model.scores = self._read_scores(name, model)
        scored = (self.paths.metrics(name), self.paths.metrics_provenance(name))
        self._keep_record(model, SCORED, sidecar_record(*scored))
        model.mask_scores = self._read_mask_scores(name, model)
        return model

    def _keep_record(self, model: Model, stage: str, read: tuple[Record | None, str | None]):
        """A sidecar's record kept with its model where the output exists, its problem reported."""
        record = self._reported(read)
        if record is not None:
            model.records[stage] = record

    def _reported(self, read: tuple[Record | None, str | None]) -> Record | None:
        record, problem = read
        if problem:
            self.problems.append(problem)
        return record

    def _name_vanished_models(self, summary: list[SummaryStat]) -> None:
        """A model summary.csv lists whose predictions and scores are both gone would
        otherwise vanish from the panels and the table with no word why."""
        for name in dict.fromkeys(row.model for row in summary):
            files = [Path(p) for p in (self.paths.predictions(name), self.paths.metrics(name))]
            if any(path.exists() for path in files):
                continue
            gone = " and ".join(path.relative_to(self.path).as_posix() for path in files)
            self.problems.append(
                f"model '{name}': summary.csv lists it, but {gone} are missing, so only its "
                "means from summary.csv are shown; run snakemake again to restore and score it"
            )

    def _open_predictions(self, name: str, model: Model) -> h5py.Dataset | None:
        path = Path(self.paths.predictions(name))
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
        model.records[PREDICTED] = self._reported(attribute_record(file, rel))
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
        model.masks = self._found_masks(file, rel)
        return images

    def _found_masks(self, file: h5py.File, rel: Path) -> h5py.Dataset | None:
        """The damage a model found (its predictions file's ``mask``), if it stores any."""
        return self._checked_masks(file, f"{rel}: {MASK}", "its found mask is not shown")

    def _names_match(self, model: Model, rel: Path, names: list[str]) -> bool:
        if names == self.names:
            return True
        self._problem(
            model, f"{rel}: names do not match dataset.h5 ({_first_difference(names, self.names)})"
        )
        return False

    def _read_scores(self, name: str, model: Model) -> dict[str, np.ndarray] | None:
        path = Path(self.paths.metrics(name))
        if not path.is_file():
            model.missing.append(f"{path.relative_to(self.path)} missing")
            return None
        scores, model.unscored = self._read_table(path, contract.metric_names(), model)
        return scores

    def _read_mask_scores(self, name: str, model: Model) -> dict[str, np.ndarray] | None:
        """How well ``name`` found the damage; only a model that finds damage has the file."""
        path = Path(self.paths.mask_scores(name))
        if not path.is_file():
            return None
        scores, model.mask_unscored = self._read_table(path, contract.mask_score_names(), model)
        return scores

    def _read_table(
        self, path: Path, metrics: tuple[str, ...], model: Model
    ) -> tuple[dict[str, np.ndarray] | None, list[str]]:
        """The per-image columns of ``metrics`` a CSV with a name column has and those it
        lacks (an older run's); or None and a problem for a file that cannot be used."""
        rel = path.relative_to(self.path)
        try:
            names, values, lacking = read_score_file(path, rel, metrics)
        except ScoreFileError as error:
            self._problem(model, str(error))
            return None, []
        if not self._names_match(model, rel, names):
            return None, []
        self.problems += impossible_scores(rel, values)
        return values, lacking

    def _name_older_scores(self) -> None:
        """One banner line per set of scores that files of an older run lack (scored before
        the spec gained them), naming the files and the scores: the rest is shown."""
        kinds = (
            ("unscored", self.paths.metrics, lambda m: m.scores),
            ("mask_unscored", self.paths.mask_scores, lambda m: m.mask_scores),
        )
        for attribute, path_of, scores_of in kinds:
            usable = [m for m in self.models.values() if scores_of(m) is not None]
            groups: dict[tuple[str, ...], list[str]] = {}
            for model in usable:
                if lacking := tuple(getattr(model, attribute)):
                    groups.setdefault(lacking, []).append(model.name)
            for lacking, names in groups.items():
                if len(names) == len(usable) > 1:
                    files, verb = Path(path_of("*")).relative_to(self.path).as_posix(), "have"
                else:
                    rels = [Path(path_of(n)).relative_to(self.path).as_posix() for n in names]
                    files, verb = ", ".join(rels), "has" if len(names) == 1 else "have"
                self.problems.append(
                    f"scores of an older run: {files} {verb} no {', '.join(lacking)}; the "
                    "rest is shown (run snakemake again to score them)"
                )

    def _problem(self, model: Model, message: str) -> None:
        model.missing.append(message)
        self.problems.append(message)

    def unscored(self, model: str) -> list[str]:
        """The spec's scores ``model``'s metrics file lacks (an older run's); none for a
        model without usable scores."""
        found = self.models.get(model)
        return list(found.unscored) if found is not None and found.scores is not None else []

    def score_models(self) -> list[str]:
        """Models with usable scores, in display order."""
        return [name for name, model in self.models.items() if model.scores is not None]

    def trained_models(self) -> list[str]:
        """The run's models that are not baselines, in display order."""
        return [name for name in self.models if name not in contract.BASELINES]

    def image_models(self) -> list[str]:
        """Models other than the input that have or should have a panel, in display order.

        A trained model always appears (as "not available" before its predictions exist);
        a baseline appears when it has files, even unusable ones, so their message can be seen.
        """
        return [
            name
            for name, model in self.models.items()
            if name != INPUT_MODEL and (name not in contract.BASELINES or model.on_disk)
        ]

    def unknown_models(self, names: list[str]) -> str | None:
        """Why some of ``names`` cannot be shown (naming them and the run's models), or None."""
        available = self.image_models()
        unknown = [n for n in names if n not in available and n != INPUT_MODEL]
        if not unknown:
            return None
        return (
            f"the run has no model {', '.join(repr(n) for n in unknown)} "
            f"(available: {', '.join(available) or 'none'})"
        )

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

    def true_mask(self, index: int) -> np.ndarray:
        """Image ``index``'s (H, W) bool damage mask: dataset.h5's, or recovered from its pair.

        Raises OSError when a stored chunk cannot be decoded.
        """
        if self.mask is not None:
            return self.mask[index] > 0
        # Only a run without stored masks pays for scipy, and only once one is shown.
        from restorebench.data.masks import recover_mask

        return recover_mask(self.clean[index], self.damaged[index])

    def has_found_mask(self, model: str) -> bool:
        """Whether ``model`` stores the damage it found (a predictions file with a mask)."""
        return model in self.models and self.models[model].masks is not None

    def found_mask(self, model: str, index: int) -> np.ndarray | None:
        """The (H, W) uint8 damage ``model`` found in image ``index``, 0 (none) to 255 (paint),
        or None for a model that stores none. Raises OSError for an undecodable chunk."""
        if not self.has_found_mask(model):
            return None
        return self.models[model].masks[index]

    # -- files -----------------------------------------------------------------------------
    def watched_paths(self) -> list[Path]:
        """Directories and files whose change means the run should be reloaded."""
        folders = [
            self.path,
            *(Path(p).parent for p in (self.paths.predictions("*"), self.paths.metrics("*"))),
            Path(self.paths.model_dir("*")).parent,
            Path(self.paths.mask_scores("*")).parent,
            # A model's provenance.json is written after its folder and its other files.
            *(Path(self.paths.model_dir(m)) for m in self.trained_models()),
        ]
        summaries = (self.paths.dataset, self.paths.summary, self.paths.summary_buckets)
        files = [Path(p) for p in summaries]
        for folder in folders[1:3]:
            if folder.is_dir():
                files += sorted(folder.iterdir())
        return [p for p in folders + files if p.exists()]

    def close(self) -> None:
        for file in self._files:
            file.close()
        self._files.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
