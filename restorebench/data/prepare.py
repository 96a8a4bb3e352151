"""Raw images -> ``dataset.h5`` + ``skipped.tsv``: decode, square, damage, split, write.

Decoding, resizing, damage and chunk compression run in worker processes (all cores);
the parent only streams finished chunks into the HDF5 file in name order, so the
output is identical whatever the number of workers.
"""

from __future__ import annotations

import csv
import logging
import os
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_all_start_methods, get_context
from pathlib import Path

import numpy as np

from restorebench import contract
from restorebench.data.alignment import aspect_ratios_differ, comparison_size, intact_difference
from restorebench.data.damage import DamageSettings, damage_pair
from restorebench.data.dataset import DatasetWriter, compress_image, split_of
from restorebench.data.demo import demo_image, demo_name, photo_of, test_photos
from restorebench.data.images import ImageError, fit_square, load_rgb
from restorebench.data.masks import EXACT_RULE, RECOVERY_RULE, recover_mask
from restorebench.data.sources import Discovery, Pair, Skip, discover, source
from restorebench.runtime import provenance

log = logging.getLogger(__name__)
PROVENANCE_PACKAGES = ("restorebench", "numpy", "pillow", "h5py", "scikit-image")
# One skip reason taking more of the pairs found than this is warned about: the dataset
# then lacks a kind of picture, and every score flatters the models.
SKIP_WARN_SHARE = 0.05


@dataclass(frozen=True)
class PrepareSettings:
    source: str
    image_size: int
    test_fraction: float
    seed: int
    fit: str = "stretch"
    min_side: int = 32
    max_pixels: int = 40_000_000
    compression_level: int = 4
    pair_tolerance: float = 6.0
    demo_images: int = 480
    damage: DamageSettings = field(default_factory=DamageSettings)

    @classmethod
    def from_config(cls, section: dict) -> PrepareSettings:
        """Build from the config's ``dataset`` section (already schema-validated)."""
        fields = {
            k: v for k, v in section.items() if k in cls.__dataclass_fields__ and k != "damage"
        }
        settings = cls(**fields, damage=DamageSettings.from_config(section.get("damage") or {}))
        kind = source(settings.source)
        if kind.synthesizes and settings.damage.damages_nothing:
            raise ValueError(
                "dataset.damage: strokes and blobs are both at most 0, so no image would be "
                "damaged and every score would compare a picture with itself"
            )
        if kind.fit is not None and settings.fit != kind.fit:
            raise ValueError(f"dataset.fit: {kind.name} needs '{kind.fit}' ({kind.fit_reason})")
        return settings


@dataclass(frozen=True)
class PrepareReport:
    found: int
    written: dict[str, int]
    skipped: list[Skip]
    seconds: float
    # Pairs written with no damaged pixel, and those painted on the clean side instead.
    undamaged: int = 0
    reversed: int = 0

    @property
    def total_written(self) -> int:
        return sum(self.written.values())


@dataclass(frozen=True)
class Made:
    """One pair ready to write, and what its damage says about the task."""

    name: str
    chunks: tuple[bytes, ...]
    undamaged: bool = False
    reversed: bool = False  # the clean side holds the paint: the folders may be swapped


def _made(name: str, settings: PrepareSettings, clean, damaged, mask) -> Made:
    reverse = recover_mask(damaged, clean)
    return Made(
        name,
        _chunks(settings, clean, damaged, mask),
        undamaged=not mask.any(),
        reversed=int(np.count_nonzero(reverse)) > int(np.count_nonzero(mask)),
    )


def _make_pair(task: tuple[str, Pair | int, PrepareSettings]) -> Made | Skip:
    """Worker: one raw item to compressed chunks (clean, damaged, mask), or why it was skipped."""
    name, item, settings = task
    size = settings.image_size
    if isinstance(item, int):
        clean = fit_square(demo_image(item, settings.seed), size, "center_crop")
        return _made(
            name, settings, clean, *damage_pair(clean, settings.seed, name, settings.damage)
        )
    limits = {"max_pixels": settings.max_pixels, "min_side": settings.min_side}
    current = item.clean
    try:
        clean_photo = load_rgb(item.clean, **limits)
        clean = fit_square(clean_photo, size, settings.fit)
        if item.damaged is None:
            damaged, mask = damage_pair(clean, settings.seed, name, settings.damage)
        else:
            current = item.damaged
            damaged_photo = load_rgb(item.damaged, **limits)
            damaged = fit_square(damaged_photo, size, settings.fit)
            misaligned = _misalignment(clean_photo, damaged_photo, item.clean.name, settings)
            if misaligned:
                return Skip(name, str(item.damaged), misaligned)
            mask = recover_mask(clean, damaged)
    except ImageError as error:
        return Skip(name, str(current), str(error))
    return _made(name, settings, clean, damaged, mask)


def _chunks(settings: PrepareSettings, *arrays: np.ndarray) -> tuple[bytes, ...]:
    return tuple(compress_image(array, settings.compression_level) for array in arrays)


def mask_rule(name: str) -> str:
    """How the dataset's masks are made: exactly where the workflow paints, else recovered."""
    return EXACT_RULE if source(name).synthesizes else RECOVERY_RULE


def _misalignment(
    clean: np.ndarray, damaged: np.ndarray, clean_name: str, settings: PrepareSettings
) -> str | None:
    """Why a pair is not one picture, checked at the photos' own size, not ``image_size``."""
    if settings.fit == "center_crop" and aspect_ratios_differ(clean.shape, damaged.shape):
        return (
            f"aspect ratios differ: clean {_size_text(clean)}, damaged {_size_text(damaged)} "
            "(center_crop needs the same picture on both sides)"
        )
    size = comparison_size(clean.shape, damaged.shape)
    difference = intact_difference(
        fit_square(clean, size, settings.fit), fit_square(damaged, size, settings.fit)
    )
    if difference <= settings.pair_tolerance:
        return None
    return (
        f"misaligned pair: intact pixels differ from {clean_name} by {difference:.1f} grey "
        f"levels (median at {size} px; dataset.pair_tolerance {settings.pair_tolerance:g})"
    )


def _size_text(image: np.ndarray) -> str:
    height, width = image.shape[:2]
    return f"{width}x{height}"


def _items(
    settings: PrepareSettings, folder: Path | None
) -> tuple[list[tuple[str, Pair | int]], Discovery]:
    if source(settings.source).built_in:  # the demo's generated photos
        return [(demo_name(i), i) for i in range(settings.demo_images)], Discovery([], [])
    discovery = discover(settings.source, Path(folder))
    return [(pair.name, pair) for pair in discovery.pairs], discovery


def check_planned_split(settings: PrepareSettings, folder: Path | None) -> None:
    """Refuse, before any image is decoded, a split that would leave a side empty.

    Only names decide the split, so the plan is exact up to the images later skipped
    (prepare checks again after decoding).
    """
    items, _ = _items(settings, folder)
    if not items:
        return  # prepare names what is wrong with the folder
    tests = sum(split == "test" for split in _splits(settings, items).values())
    _check_split_sizes({"train": len(items) - tests, "test": tests}, settings.test_fraction)


def _splits(settings: PrepareSettings, items: list[tuple[str, Pair | int]]) -> dict[str, str]:
    """Each item's split: by its name, or for the demo by the photo it was cut from."""
    if source(settings.source).built_in:
        test = test_photos(settings.demo_images, settings.seed, settings.test_fraction)
        return {name: "test" if photo_of(index) in test else "train" for name, index in items}
    return {name: split_of(name, settings.seed, settings.test_fraction) for name, _ in items}


def _reason_kind(reason: str) -> str:
    """A skip reason without its particulars (the measured value, the sizes, the file list)."""
    return reason.split(":")[0]


def _log_skip_counts(skipped: list[Skip], found: int, skipped_path: Path) -> None:
    """Each reason's count, so that a reason taking a large share is seen, not buried in the list."""
    if not skipped:
        return
    counts = Counter(_reason_kind(skip.reason) for skip in skipped).most_common()
    log.info("skipped by reason: %s", ", ".join(f"{count} {kind}" for kind, count in counts))
    for kind, count in counts:
        if count > SKIP_WARN_SHARE * found:
            log.warning(
                "%d of the %d pairs found (%.0f %%) were skipped as %s, more than %.0f %%: the "
                "dataset lacks them and its scores may not hold for the whole set; each one is "
                "listed with its reason in %s",
                count,
                found,
                100 * count / found,
                kind,
                100 * SKIP_WARN_SHARE,
                skipped_path,
            )


def write_skipped(path: Path, skipped: list[Skip]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["name", "file", "reason"])
        writer.writerows((skip.name, skip.file, skip.reason) for skip in skipped)


def prepare(
    settings: PrepareSettings,
    folder: Path | None,
    dataset_path: Path,
    skipped_path: Path,
    workers: int = 1,
    code: str = "",
) -> PrepareReport:
    """Build the dataset; bad images are skipped and listed, never fatal.

    ``code`` is the rule's digest of the library code (recorded in the provenance).

    A missing or empty source folder raises (FileNotFoundError / ValueError) before any
    output is written.
    """
    start = time.perf_counter()
    items, discovery = _items(settings, folder)
    found = len(items) + len(discovery.skipped)
    log.info(
        "source %s: %d found, %d paired, %d skipped while pairing",
        settings.source,
        found,
        len(items),
        len(discovery.skipped),
    )
    for skip in discovery.skipped:
        log.warning("skipped %s: %s", skip.file, skip.reason)
    if not items:
        raise ValueError(
            f"no usable image pairs in {folder}: {found} found, all skipped (see the log)"
        )
    splits = _splits(settings, items)
    capacity = {split: sum(1 for s in splits.values() if s == split) for split in ("train", "test")}
    _check_split_sizes(capacity, settings.test_fraction)
    tasks = [(name, item, settings) for name, item in items]
    skipped = list(discovery.skipped)
    temporary = Path(f"{dataset_path}.partial")
    undamaged = reversed_pairs = 0
    with _pool(workers) as pool:
        if pool:
            pool.submit(int).result()  # workers exist before the HDF5 file is opened
        writer = DatasetWriter(temporary, settings.image_size, capacity, settings.compression_level)
        try:
            results = pool.map(_make_pair, tasks, chunksize=8) if pool else map(_make_pair, tasks)
            for done, result in enumerate(results, start=1):
                if isinstance(result, Skip):
                    log.warning("skipped %s: %s", result.file, result.reason)
                    skipped.append(result)
                else:
                    writer.append(splits[result.name], result.name, *result.chunks)
                    undamaged += result.undamaged
                    reversed_pairs += result.reversed
                if done % max(1, len(tasks) // 20) == 0 or done == len(tasks):
                    rate = done / (time.perf_counter() - start)
                    log.info("prepared %d/%d pairs (%.0f pairs/s)", done, len(tasks), rate)
            report = PrepareReport(
                found,
                dict(writer.count),
                skipped,
                time.perf_counter() - start,
                undamaged,
                reversed_pairs,
            )
            if report.total_written == 0:
                raise ValueError(
                    f"no usable image pairs: {found} found, all skipped (reasons in the log)"
                )
            _check_split_sizes(report.written, settings.test_fraction, warn=True)
            if report.total_written + len(skipped) != found:
                raise RuntimeError(
                    f"counts do not reconcile: {found} found, {report.total_written} written, {len(skipped)} skipped"
                )
            writer.finish(_provenance(settings, folder, report, code))
        except BaseException:
            writer.abort()
            raise
    os.replace(temporary, dataset_path)
    write_skipped(skipped_path, skipped)
    log.info(
        "wrote %s: %d train + %d test pairs at %d px; %d found = %d written + %d skipped (%s); %.1f s",
        dataset_path,
        report.written["train"],
        report.written["test"],
        settings.image_size,
        found,
        report.total_written,
        len(skipped),
        skipped_path,
        report.seconds,
    )
    _log_skip_counts(skipped, found, skipped_path)
    for problem in task_problems(report.total_written, report.undamaged, report.reversed):
        log.warning("%s", problem)
    return report


def task_problems(written: int, undamaged: int, reversed_pairs: int) -> list[str]:
    """Why the pairs may not be a restoration task at all: warnings for the log and summary.

    Undamaged pairs score a restorer on copying its input; pairs whose clean side is the
    brighter one look like ``clean/`` and ``damaged/`` swapped, since damage is white paint.
    """
    problems = []
    if reversed_pairs > written / 2:
        problems.append(
            f"{reversed_pairs} of the {written} pairs are brighter on the clean side than on "
            "the damaged one: are the clean and damaged folders swapped? (damage is white "
            "paint on the damaged side)"
        )
    if undamaged > SKIP_WARN_SHARE * written:
        problems.append(
            f"{undamaged} of the {written} pairs have no damaged pixel (the damaged side is "
            "nowhere brighter than the clean one): restorers are scored on copying their input"
        )
    return problems


def _check_split_sizes(counts: dict[str, int], test_fraction: float, warn: bool = False) -> None:
    """Refuse a split that leaves either side empty; with ``warn`` (once, for the dataset
    written), warn when the test split is too small to say much.

    ``test_fraction`` 0 asks for no test split at all (a training benchmark's dataset);
    the workflow's schema never allows it.
    """
    total = counts["train"] + counts["test"]
    if test_fraction == 0:
        if counts["train"] == 0:
            raise ValueError("no usable image pairs for the train split")
        return
    for split in ("test", "train"):
        if counts[split] == 0:
            raise ValueError(
                f"config key dataset.test_fraction: {test_fraction} of {total} usable pairs puts "
                f"no image in the {split} split; change it or add images"
            )
    if warn and counts["test"] < contract.MIN_TEST_IMAGES:
        log.warning(
            "only %d test images (dataset.test_fraction %s of %d): scores and their intervals "
            "will say little",
            counts["test"],
            test_fraction,
            total,
        )


class _pool:
    """A process pool, or None for one worker (no process start-up at all).

    Fork where the platform has it: spawned workers would re-import the calling script.
    """

    def __init__(self, workers: int):
        method = "fork" if "fork" in get_all_start_methods() else "spawn"
        self.executor = (
            ProcessPoolExecutor(workers, mp_context=get_context(method)) if workers > 1 else None
        )

    def __enter__(self):
        return self.executor

    def __exit__(self, *exc):
        if self.executor is not None:
            self.executor.shutdown(cancel_futures=True)


def _split_rule(settings: PrepareSettings) -> str:
    if source(settings.source).built_in:
        test = sorted(test_photos(settings.demo_images, settings.seed, settings.test_fraction))
        return (
            "demo: every crop of a photo on one side; test photos (test_fraction of the photos, "
            f"by sha256(f'{{seed}}:{{photo}}')): {', '.join(test)}"
        )
    return "test if sha256(f'{seed}:{name}')[:8] / 2**64 < test_fraction"


def _provenance(
    settings: PrepareSettings, folder: Path | None, report: PrepareReport, code: str
) -> dict:
    return {
        "source": settings.source,
        "source_path": str(Path(folder).resolve()) if folder else "",
        "image_size": settings.image_size,
        "fit": settings.fit,
        "split_rule": _split_rule(settings),
        "mask_rule": mask_rule(settings.source),
        "seed": settings.seed,
        "test_fraction": settings.test_fraction,
        "count_found": report.found,
        "count_written": report.total_written,
        "count_skipped": len(report.skipped),
        "count_train": report.written["train"],
        "count_test": report.written["test"],
        "skipped_list": "skipped.tsv",
        "undamaged_pairs": report.undamaged,
        "reversed_pairs": report.reversed,
        "task_warnings": task_problems(report.total_written, report.undamaged, report.reversed),
        "skipped_reasons": sorted({_reason_kind(skip.reason) for skip in report.skipped}),
        provenance.ATTRIBUTE: provenance.record(code, asdict(settings), PROVENANCE_PACKAGES),
    }
