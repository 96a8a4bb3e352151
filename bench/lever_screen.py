"""Screen recipe variants at a fixed number of epochs, several at once (docs/training.md).

    python -m bench.lever_screen DATASET OUT_DIR --epochs vae=30,gan=25 \\
        --variant base:vae:{} --variant head:vae:'{"fill_prior": true}' ...

A variant ``LABEL:MODEL:JSON`` is config.yaml's entry MODEL (or the diffusion preset's)
with the JSON overrides on top. Each trains in a child process of its own, all at once
(``--parallel``), for MODEL's epochs on every train image of DATASET (a dataset as the
quality benchmark builds it, ``bench.quality.faces_dataset``) through the rule's own
``fit`` (BatchNorm recalibrated) on the train split less a validation share
(``--split validation``, the default: a tenth, by name hash, ``VALIDATION_SHARE``), and
that share is restored into OUT_DIR/LABEL.npz (``restored``, ``found`` for a blend model,
``given`` its fill of the true masks). The test split stays unseen until the benchmark:
a lever chosen on it would be fitted to it. ``--split test`` trains on the whole train
split and restores the test split, as screens before this option did. Where
scikit-image is installed the restorations are then scored as the benchmark scores them
(``bench.quality.mean_scores``) into OUT_DIR/scores.json; elsewhere (a GPU machine
without it) ``--score-only`` does that later, on a machine that has it.

Epochs, not the benchmark's wall-clock budget: variants that share one GPU, or train on
another machine than the CPU benchmark, are then compared at the same training. A screen
says which way a lever points; the benchmark (``make bench-quality``) gives the figures.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The train images a screen holds out and scores: about as many as faces-dev's test split.
VALIDATION_SHARE = 0.1
SPLITS = ("validation", "test")


def _variant(text: str) -> tuple[str, str, dict]:
    label, _, rest = text.partition(":")
    model, _, overrides = rest.partition(":")
    try:
        settings = json.loads(overrides or "{}")
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"--variant {text}: the overrides are no JSON ({error})")
    if not label or not model or not isinstance(settings, dict):
        raise argparse.ArgumentTypeError(f"--variant {text}: expected LABEL:MODEL:JSON_OBJECT")
    return label, model, settings


def _epochs(text: str) -> dict[str, int]:
    pairs = [part.partition("=") for part in text.split(",") if part]
    return {model: int(count) for model, _, count in pairs}


def screened(dataset: Path, split: str):
    """(the images a screen restores and scores, its ``TrainOptions``): the held-out
    validation share of the train split, or the test split with every train image."""
    from restorebench.data.dataset import Split, read_split
    from restorebench.training.batches import validation_mask
    from restorebench.training.fit import TrainOptions

    if split == "test":
        return read_split(dataset, "test"), TrainOptions(validation_fraction=0.0)
    options = TrainOptions(validation_fraction=VALIDATION_SHARE)
    train = read_split(dataset, "train")
    held = validation_mask(train.names, options.validation_fraction, options.seed)
    names = [name for name, keep in zip(train.names, held, strict=True) if keep]
    return Split(train.clean[held], train.damaged[held], names, train.mask[held]), options


def train_one(
    dataset: Path, model: str, overrides: dict, epochs: int, out: Path, split: str
) -> dict:
    """One variant trained by the rule's own ``fit`` (BatchNorm recalibrated) and the
    screened images restored; runs in the child process."""
    import numpy as np

    from bench.quality import recipe

    # bench.quality_probe configures the process before Keras.
    from bench.quality_probe import fill_true_masks, fit_in_scratch, restore_test
    from restorebench.models import families
    from restorebench.models.families.base import read_settings

    entry = recipe(model, overrides)
    family = families.load(entry["family"])
    settings = read_settings(family.settings, {**entry, "epochs": epochs}, f"models.{model}")
    images, options = screened(dataset, split)
    started = time.perf_counter()
    trainer, _ = fit_in_scratch(model, family, settings, dataset, options)
    restorer = family.restorer(trainer)
    arrays = restore_test(family, settings, restorer, images.damaged)
    np.savez_compressed(out, **arrays, **fill_true_masks(family, settings, restorer, images))
    return {"train_s": round(time.perf_counter() - started, 1), "epochs": epochs, "screened": split}


def score(dataset: Path, folder: Path, labels: list[str], split: str) -> dict:
    """Each variant's scores on the screened images, as the quality benchmark computes them."""
    import numpy as np

    from bench.quality import error_split, mean_scores

    images, _ = screened(dataset, split)
    scores = {}
    for label in labels:
        restored = np.load(folder / f"{label}.npz")
        found = restored["found"] if "found" in restored.files else None
        figures = mean_scores(images, restored["restored"], found)
        scores[label] = {k: v for k, v in figures.items() if not isinstance(v, dict)}
        scores[label]["mask"] = figures.get("mask", {})
        scores[label]["split"] = error_split(images, restored)
        scores[label]["images"] = len(images.names)
    return scores


def _children(args, variants) -> dict:
    """Every variant in a child process, ``--parallel`` at a time; their JSON lines."""
    env = {
        **os.environ,
        "XLA_PYTHON_CLIENT_PREALLOCATE": "false",  # JAX: share the card between children
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    waiting, running, done = list(variants), [], {}
    while waiting or running:
        while waiting and len(running) < args.parallel:
            label, model, overrides = waiting.pop(0)
            command = [sys.executable, "-m", "bench.lever_screen", str(args.dataset)]
            command += [str(args.out), "--child", json.dumps([label, model, overrides])]
            command += ["--epochs", f"{model}={args.epochs[model]}", "--split", args.split]
            child = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
            running.append((label, child))
        time.sleep(1)
        for label, child in [
            (label, child) for label, child in running if child.poll() is not None
        ]:
            running.remove((label, child))
            lines = child.stdout.read().strip().splitlines()
            if child.returncode != 0 or not lines:
                raise RuntimeError(f"variant {label} failed ({child.returncode})")
            done[label] = json.loads(lines[-1])
            print(f"{label}: {done[label]}", file=sys.stderr)
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--epochs", type=_epochs, required=True, help="MODEL=N,... per model")
    parser.add_argument("--variant", type=_variant, action="append", default=[])
    parser.add_argument("--parallel", type=int, default=8, help="variants training at once")
    parser.add_argument("--score-only", action="store_true", help="score OUT's restorations")
    parser.add_argument(
        "--split", choices=SPLITS, default="validation", help="the images restored and scored"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        label, model, overrides = json.loads(args.child)
        figures = train_one(
            args.dataset,
            model,
            overrides,
            args.epochs[model],
            args.out / f"{label}.npz",
            args.split,
        )
        print(json.dumps(figures))
        return
    missing = {model for _, model, _ in args.variant} - set(args.epochs)
    if missing:
        parser.error(f"--epochs: no count for {', '.join(sorted(missing))}")
    args.out.mkdir(parents=True, exist_ok=True)
    trained = {} if args.score_only else _children(args, args.variant)
    if importlib.util.find_spec("skimage") is None:
        print(json.dumps(trained))
        return
    scores = score(args.dataset, args.out, [label for label, _, _ in args.variant], args.split)
    for label in scores:
        scores[label].update(trained.get(label, {}))
    (args.out / "scores.json").write_text(json.dumps(scores, indent=1) + "\n")
    print(json.dumps(scores))


if __name__ == "__main__":
    main()
