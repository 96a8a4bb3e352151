"""Restoration quality under one wall-clock budget, on real portraits.

    python -m bench --only quality                      # the suite's item: recipe of config.yaml
    python -m bench.quality --size 64 --budget 300 --models gan --label "no blend" --set gan.blend=false

Our GAN and VAE (the ``train:`` recipe of config.yaml, through the rule's own
``fit``) and the origin's GAN (``bench/origin_reference.py``, its notebook loop) each
train for the same wall-clock budget on ``../shared/data/faces-dev`` (source clean:
our damage model, the stable name-hash split), one after another on the same cores.
All are scored on the same test images beside ``damaged`` and ``inpaint``.

Run directly, the module records one lever trial: ``--set model.key=value``
overrides the recipe, only the ``--models`` named are trained, and the row (with the
references measured in the same run) is appended to ``bench/quality_trials.json``,
which BENCHMARKS.md lists.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from PIL import Image

from bench.children import log, run_child
from bench.workflow import REPO

FACES = REPO.parent / "shared" / "data" / "faces-dev"
TRIALS = REPO / "bench" / "quality_trials.json"
CONTENDERS = ("gan", "vae", "diffusion", "origin")  # trained in this order
SAMPLING_STEPS = (1, 4, 16, 64)  # the diffusion model's test split is also restored with these
# Where on the way through its budget each contender restores the test split (off the
# clock) for the time-to-quality curve; the budget's end is the final result itself.
CURVE_FRACTIONS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 3 / 8, 1 / 2, 5 / 8, 3 / 4, 7 / 8)
# What the curves are raced against: a contender's time to quality is the first
# checkpoint at which it passes this reference's test score.
QUALITY_BAR = "inpaint"


# The diffusion family is not in config.yaml's default run; its preset holds its recipe.
DIFFUSION_PRESET = REPO / "configs" / "diffusion.yaml"


def config() -> dict:
    return yaml.safe_load((REPO / "config.yaml").read_text())


def recipe(model: str, overrides: dict | None = None) -> dict:
    """The entry ``models.<model>`` of config.yaml or the diffusion preset, ``overrides`` on
    top, family defaults filled in. An override of the wrong type or name stops here, naming the key.
    """
    from restorebench.models import families
    from restorebench.models.families.base import read_settings

    entries = {**config()["models"], **yaml.safe_load(DIFFUSION_PRESET.read_text())["models"]}
    entry = {**entries[model], **(overrides or {})}
    kind = families.load(entry["family"]).settings
    settings = read_settings(kind, entry, f"models.{model}")
    return {"family": entry["family"], **dataclasses.asdict(settings)}


def first_photos(photos: Path, count: int, scratch: Path) -> Path:
    """A folder of links to the first ``count`` photos (by name): the smoke run's small set."""
    folder = scratch / f"{photos.name}-first-{count}"
    if not folder.is_dir():
        folder.mkdir(parents=True)
        for photo in sorted(p for p in photos.iterdir() if p.is_file())[:count]:
            (folder / photo.name).symlink_to(photo.resolve())
    return folder


def faces_dataset(size: int, scratch: Path, photos: Path = FACES, limit: int | None = None) -> Path:
    """A folder of clean photos prepared as configs/faces-dev.yaml does, at ``size`` px.

    Cached in ``scratch`` per folder and size. faces-dev is the set the team measures on;
    any folder of photos builds the same kind of benchmark (``--photos``); ``limit`` takes
    only the first photos by name.
    """
    from restorebench.data.prepare import PrepareSettings, prepare

    photos = Path(photos)
    if not photos.is_dir():
        raise FileNotFoundError(
            f"{photos}: no such folder of photos (give one with --photos; the team's "
            "../shared/data/faces-dev sits beside its checkout only)"
        )
    tag = hashlib.sha256(str(photos.resolve()).encode()).hexdigest()[:8]
    scratch.mkdir(parents=True, exist_ok=True)
    if limit is not None:
        photos, tag = first_photos(photos, limit, scratch / f"links-{tag}"), f"{tag}-first{limit}"
    path = scratch / f"{photos.name}-{tag}-{size}.h5"
    if not path.exists():
        section = {
            **config()["dataset"],
            "source": "clean",
            "image_size": size,
            "fit": "center_crop",
            "test_fraction": 0.1,
            "seed": 123,
        }
        prepare(
            PrepareSettings.from_config(section),
            photos,
            path,
            scratch / f"{path.stem}-skipped.tsv",
        )
    return path


def origin_folders(dataset: Path, scratch: Path) -> Path:
    """The train split as humanface8000's folder layout (PNG, lossless), which the origin's loop reads."""
    from restorebench.data.dataset import read_split

    root = scratch / f"{dataset.stem}-origin-layout"
    done = root / ".complete"
    if not done.exists():
        train = read_split(dataset, "train")
        for kind, images in (("gray", train.damaged), ("color", train.clean)):
            folder = root / "landscape Images" / kind
            folder.mkdir(parents=True, exist_ok=True)
            for name, image in zip(train.names, images):
                Image.fromarray(image).save(folder / f"{name}.png", compress_level=1)
        done.touch()
    return root


def mean_scores(test, restored: np.ndarray, found: np.ndarray | None = None) -> dict:
    """Means of every metric as the workflow's summary takes them (images without a region
    left out), the means per damaged-share bucket and, for a restorer that found the damage
    itself (``found``: uint8 masks), the means of its mask scores."""
    from restorebench import contract
    from restorebench.scoring.mask_scores import score_masks
    from restorebench.scoring.metrics import score_images
    from restorebench.scoring.summary import by_mask_share, describe_masks, summarize

    table = score_images(test.clean, restored, test.mask)
    stats, _ = summarize({"m": table}, [], resamples=200)
    result: dict = {stat.metric: stat.mean for stat in stats}
    result[contract.MASK_SHARE.name] = float(np.mean(test.mask))
    buckets: dict[str, dict] = {}
    for row in by_mask_share({"m": table}, config()["score"]["mask_share_buckets"], resamples=200):
        buckets.setdefault(row.bucket, {"n": row.n})[row.metric] = row.mean
    result["buckets"] = buckets
    if found is not None:
        masks = describe_masks({"m": score_masks(found, test.mask)}, resamples=200)
        result["mask"] = {stat.metric: stat.mean for stat in masks}
    return result


def error_split(test, arrays) -> dict:
    """The two parts of a blend model's error on the test split: its own fill given the
    true masks (``given``), and the classical fill (``inpaint``'s) given the masks it found."""
    from restorebench.restore.baselines import fill_images
    from restorebench.scoring.mask_scores import found_damage

    parts = {}
    if "given" in arrays:
        parts["own_fill_true_mask"] = arrays["given"]
    if "found" in arrays:
        parts["classical_fill_found_mask"] = fill_images(
            test.damaged, found_damage(arrays["found"])
        )
    return {
        part: {k: v for k, v in mean_scores(test, images).items() if not isinstance(v, dict)}
        for part, images in parts.items()
    }


def score_curve(test, figures: dict, restored: list[np.ndarray], final: dict) -> list[dict]:
    """The checkpoints' PSNR and SSIM, then the final result at the budget's end.

    ``figures`` are the child's (``curve_s``, ``curve_steps``, ``train_s``, ``steps``),
    popped so that the training figures keep only their own.
    """
    seconds, steps = figures.pop("curve_s"), figures.pop("curve_steps")
    points = []
    for s, n, images in zip(seconds, steps, restored):
        means = mean_scores(test, images)
        points.append({"s": s, "steps": n, "psnr": means["psnr"], "ssim": means["ssim"]})
    end = {"s": figures["train_s"], "steps": figures["steps"]}
    return [*points, {**end, "psnr": final["psnr"], "ssim": final["ssim"]}]


def time_to_quality(curve: list[dict], bar: dict) -> dict[str, float | None]:
    """Training seconds at the first point that passes ``bar``'s PSNR, its SSIM and both
    (None: not within the budget)."""

    def first(passes) -> float | None:
        return next((point["s"] for point in curve if passes(point)), None)

    return {
        "psnr": first(lambda p: p["psnr"] >= bar["psnr"]),
        "ssim": first(lambda p: p["ssim"] >= bar["ssim"]),
        "both": first(lambda p: p["psnr"] >= bar["psnr"] and p["ssim"] >= bar["ssim"]),
    }


def references(dataset: Path) -> dict[str, dict]:
    """The damaged input, the classical inpainting baseline and its oracle (the true
    mask filled), as the workflow scores them."""
    from restorebench import contract
    from restorebench.data.dataset import read_split
    from restorebench.restore.baselines import restore_baseline

    test, scores = read_split(dataset, "test"), {}
    for name, baseline in contract.BASELINE_RESTORERS.items():
        settings = config()["score"][baseline.settings] if baseline.settings else {}
        images, found = restore_baseline(name, test.damaged, test.mask, settings)
        mask = None if found is None else found.astype(np.uint8) * 255
        scores[name] = mean_scores(test, images, mask)
    return scores


def train_and_score(
    name: str,
    dataset: Path,
    size: int,
    budget_s: float,
    scratch: Path,
    threads: int,
    overrides: dict | None = None,
    precision: str = "auto",
    sampling_steps: tuple[int, ...] = SAMPLING_STEPS,
) -> dict:
    """Train one contender for ``budget_s`` seconds in a child process; its test scores and training figures.

    ``precision`` (``train.precision``) is ours only: the origin's loop is float32 as it was.
    A diffusion contender also restores the test split with each of ``sampling_steps``.
    """
    from restorebench.data.dataset import read_split

    test = read_split(dataset, "test")
    out = scratch / f"{name}-{size}-restored.npz"
    checkpoints = ",".join(f"{fraction * budget_s:.3f}" for fraction in CURVE_FRACTIONS)
    start = time.perf_counter()
    if name == "origin":
        given = scratch / f"{dataset.stem}-test-damaged.npz"
        np.savez(given, damaged=test.damaged)
        figures = run_child(
            "bench.origin_reference",
            str(origin_folders(dataset, scratch)),
            "--size",
            str(size),
            "--budget",
            str(budget_s),
            "--predict",
            str(given),
            "--out",
            str(out),
            "--checkpoints",
            checkpoints,
            threads=threads,
        )
        restored = np.load(out)
        modes = {mode: mean_scores(test, restored[mode]) for mode in ("inference", "training_mode")}
        best = max(modes, key=lambda mode: modes[mode]["psnr"])
        curve = [restored[f"curve{i}_{best}"] for i in range(len(figures["curve_s"]))]
        return {
            **modes[best],
            "prediction": best,
            "other_mode": modes,
            "curve": score_curve(test, figures, curve, modes[best]),
            "training": figures,
            "settings": "bench/origin_reference.py",
            "wall_s": time.perf_counter() - start,
        }
    settings = recipe(name, overrides)
    figures = run_child(
        "bench.quality_probe",
        str(dataset),
        name,
        json.dumps(settings),
        str(budget_s),
        str(out),
        precision,
        checkpoints,
        ",".join(map(str, sampling_steps)),
        threads=threads,
    )
    restored = np.load(out)
    found = restored.get("found")
    scores = mean_scores(test, restored["restored"], found)
    scores["split"] = error_split(test, restored)
    curve = [restored[f"curve{i}"] for i in range(len(figures["curve_s"]))]
    scores["curve"] = score_curve(test, figures, curve, scores)
    seconds = figures.pop("sampling_s_per_image", {})
    if seconds:
        scores["sampling"] = {
            steps: {
                **{
                    name: value
                    for name, value in mean_scores(test, restored[f"steps{steps}"]).items()
                    if name != "buckets"
                },
                "s_per_image": s_per_image,
            }
            for steps, s_per_image in seconds.items()
        }
    return {
        **scores,
        "training": figures,
        "settings": settings,
        "wall_s": time.perf_counter() - start,
    }


def contest(
    size: int,
    budget_s: float,
    scratch: Path,
    threads: int,
    models=CONTENDERS,
    overrides: dict | None = None,
    photos: Path = FACES,
    precision: str = "auto",
    limit: int | None = None,
    sampling_steps: tuple[int, ...] = SAMPLING_STEPS,
) -> dict:
    """Every contender at one size and budget, plus the references, on one dataset
    (the first ``limit`` photos only, if given)."""
    from restorebench.data.dataset import read_names

    scratch.mkdir(parents=True, exist_ok=True)
    dataset = faces_dataset(size, scratch, photos, limit)
    scores = references(dataset)
    for name in models:
        log(f"quality {size} px: training {name} for {budget_s:.0f} s")
        scores[name] = train_and_score(
            name,
            dataset,
            size,
            budget_s,
            scratch,
            threads,
            (overrides or {}).get(name),
            precision,
            sampling_steps,
        )
        log(
            f"quality {size} px: {name} PSNR {scores[name]['psnr']:.2f} dB, SSIM {scores[name]['ssim']:.4f}"
        )
    return {
        "size": size,
        "budget_s": budget_s,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "photos": str(photos),
        "train_images": len(read_names(dataset, "train")),
        "test_images": len(read_names(dataset, "test")),
        "scores": scores,
    }


def item(profile: dict, scratch: Path) -> list[dict]:
    """The suite's item: the contenders at every size of the profile, each size under its budget.

    The profile's ``quality`` may also shrink the run (the smoke run does): ``overrides`` of
    the recipes per model, a ``limit`` on the photos and other ``sampling_steps``.
    """
    photos = Path(profile.get("photos", FACES))
    section = profile["quality"]
    return [
        contest(
            int(size),
            budget_s,
            scratch / "quality",
            profile["cores"],
            section.get("contenders", CONTENDERS),
            section.get("overrides"),
            photos,
            limit=section.get("limit"),
            sampling_steps=tuple(section.get("sampling_steps", SAMPLING_STEPS)),
        )
        for size, budget_s in section["budgets_s"].items()
    ]


def merge(earlier, now):
    """The quality item after a rerun: the contests run now and the earlier ones of other sizes.

    A size run again under the same budget on the same photos keeps its earlier contenders
    that were not run again, each with the date of its run (``measured``): one long contender can be
    added to a size without repeating the others. Either side may be an item that failed (a
    dict with its error); then ``now`` wins.
    """
    if not isinstance(earlier, list) or not isinstance(now, list):
        return now
    by_size = {contest["size"]: contest for contest in earlier}
    for contest in now:
        old = by_size.get(contest["size"])
        same_run = ("budget_s", "photos")
        if old and [old.get(k) for k in same_run] == [contest.get(k) for k in same_run]:
            kept = {
                name: {"measured": old.get("date"), **scores}
                for name, scores in old["scores"].items()
                if name in CONTENDERS and name not in contest["scores"]
            }
            contest = {**contest, "scores": {**contest["scores"], **kept}}
        by_size[contest["size"]] = contest
    return [by_size[size] for size in sorted(by_size)]


def _setting(text: str) -> tuple[str, str, object]:
    """``gan.blend=false`` -> ('gan', 'blend', False); the value is read as YAML."""
    key, _, value = text.partition("=")
    model, _, field = key.partition(".")
    ours = [name for name in CONTENDERS if name != "origin"]
    if model not in ours or not field or not value:
        raise argparse.ArgumentTypeError(
            f"--set {text}: expected MODEL.KEY=VALUE, MODEL one of {', '.join(ours)}"
        )
    return model, field, yaml.safe_load(value)


def main() -> None:
    import os

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--budget", type=float, default=300, help="training seconds per model")
    parser.add_argument(
        "--models", default="gan", help=f"comma-separated subset of {', '.join(CONTENDERS)}"
    )
    parser.add_argument(
        "--set",
        type=_setting,
        action="append",
        default=[],
        help="override the recipe, e.g. gan.blend=false",
    )
    parser.add_argument(
        "--precision",
        default="auto",
        help="train.precision of our models (auto | float32 | mixed_bfloat16 | mixed_float16)",
    )
    parser.add_argument("--label", required=True, help="what this trial changes, for the table")
    parser.add_argument(
        "--photos", type=Path, default=FACES, help="folder of clean photos (default: faces-dev)"
    )
    parser.add_argument(
        "--scratch",
        type=Path,
        default=Path(tempfile.gettempdir()) / "restorebench-bench" / "full" / "quality",
        help="generated datasets and restorations (the suite's full-run quality folder: shared cache)",
    )
    args = parser.parse_args()
    models = [m for m in args.models.split(",") if m]
    unknown = set(models) - set(CONTENDERS)
    if unknown:
        parser.error(
            f"--models: unknown {', '.join(sorted(unknown))}; choose from {', '.join(CONTENDERS)}"
        )
    overrides: dict = {}
    for model, field, value in args.set:
        overrides.setdefault(model, {})[field] = value
    cores = len(os.sched_getaffinity(0))
    result = contest(
        args.size, args.budget, args.scratch, cores, models, overrides, args.photos, args.precision
    )
    trials = json.loads(TRIALS.read_text()) if TRIALS.exists() else []
    trials.append(
        {
            "label": args.label,
            "overrides": overrides,
            "precision": args.precision,
            "date": time.strftime("%Y-%m-%d %H:%M"),
            **result,
        }
    )
    TRIALS.write_text(json.dumps(trials, indent=1) + "\n")
    log(f"appended trial '{args.label}' to {TRIALS}")


if __name__ == "__main__":
    main()
