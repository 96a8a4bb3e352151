"""GPU training throughput of our VAE and GAN under the JAX backend: BENCHMARKS.md's GPU figures.

    python -m bench.gpu_probe OUT.json            # on a GPU: 256 px, the humanface8000 preset
    python -m bench.gpu_probe OUT.json --quick    # anywhere: tiny sizes, checks the script
    python -m bench.gpu_probe OUT.json --modes mixed_bfloat16+XLA --batches 64  # one row each

For each family, batch (16, 64, 128) and mode (float32, mixed_bfloat16, mixed_bfloat16 with
XLA) it trains with ``restorebench.training``'s own trainer and input pipeline (``fit`` on
``PairBatches`` of random uint8 pairs), one warm-up epoch then timed epochs, in a child
process of its own so each peak GPU memory (``device.memory_stats()``) is its own and an
out-of-memory batch fails alone. Under JAX, XLA off means each operation is dispatched on
its own (``train.jit_compile: auto`` turns it on). Prints a markdown table and writes
the rows as JSON; the epoch and 100-epoch times are training steps only (no validation).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
PRESET = REPO / "configs" / "humanface8000.yaml"
# humanface8000's train split (the pairs prepare writes at 256 px), less the 5% validation
# hold-out (train.validation_fraction), as fit trains on it.
TRAIN_PAIRS = 7347
TRAINED = round(TRAIN_PAIRS * 0.95)
EPOCHS = 100
MODES = {
    "float32": ("float32", False),
    "mixed_bfloat16": ("mixed_bfloat16", False),
    "mixed_bfloat16+XLA": ("mixed_bfloat16", True),
}
FULL = {"size": 256, "batches": (16, 64, 128), "steps": 8, "timed_epochs": 2}
QUICK = {"size": 32, "batches": (4,), "steps": 2, "timed_epochs": 1}


def settings(family: str, quick: bool):
    """The humanface8000 preset's entry of ``family``; with ``quick``, narrow networks."""
    from restorebench import families
    from restorebench.families.base import read_settings

    entry = yaml.safe_load(PRESET.read_text())["models"][family]
    if quick:
        narrow = {"vae": {"latent_dim": 8}, "gan": {"discriminator_filters": [8, 16]}}
        entry = {**entry, "filters": [8, 16, 16], **narrow[family]}
    return read_settings(families.load(family).settings, entry, f"models.{family}")


def measure(spec: dict) -> dict:
    """One (family, batch, mode) in this process: images/s of the timed epochs, peak memory."""
    from restorebench import accel

    accel.configure()  # before Keras is first imported
    import jax
    import keras
    import numpy as np

    from restorebench.training.batches import PairBatches
    from restorebench.training.fit import build_trainer

    if keras.backend.backend() != "jax":
        raise SystemExit(f"bench.gpu_probe measures the jax backend, not {keras.backend.backend()}")
    precision, jit = MODES[spec["mode"]]
    size, batch, steps = spec["size"], spec["batch"], spec["steps"]
    family_settings = dataclasses.replace(settings(spec["family"], spec["quick"]), batch_size=batch)
    trainer = build_trainer(
        spec["family"], size, family_settings, seed=0, precision=precision, jit_compile=jit
    )
    rng = np.random.default_rng(0)
    pairs = rng.integers(0, 256, (2, batch * steps, size, size, 3), dtype=np.uint8)
    batches = PairBatches(pairs[0], pairs[1], batch, shuffle=True, seed=0, flip=True)
    started = time.perf_counter()
    trainer.fit(batches, epochs=1, verbose=0)  # compiles
    warmup = time.perf_counter() - started
    started = time.perf_counter()
    trainer.fit(batches, epochs=spec["timed_epochs"], verbose=0)
    seconds = time.perf_counter() - started
    rate = batch * steps * spec["timed_epochs"] / seconds
    device = jax.devices()[0]
    stats = device.memory_stats() or {}
    epoch = (TRAINED // batch) * batch / rate
    return {
        **spec,
        "device": device.device_kind,
        "platform": device.platform,
        "images_per_s": rate,
        "warmup_s": warmup,
        "epoch_s": epoch,
        "epochs_100_h": epoch * EPOCHS / 3600,
        "peak_gib": stats["peak_bytes_in_use"] / 2**30 if "peak_bytes_in_use" in stats else None,
    }


def run_child(spec: dict, timeout: int) -> dict:
    """``measure(spec)`` in a child process under ``KERAS_BACKEND=jax``; a failure is a row too."""
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    command = [sys.executable, "-m", "bench.gpu_probe", "--child", json.dumps(spec)]
    try:
        done = subprocess.run(
            command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {**spec, "error": f"over {timeout} s"}
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
        return {**spec, "error": lines[-1][:200]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(rows: list[dict]) -> str:
    def cell(row: dict, key: str, digits: int) -> str:
        value = row.get(key)
        return "-" if value is None else f"{value:,.{digits}f}"

    header = (
        f"| model | batch | mode | images/s | compile + first epoch (s) | epoch of {TRAINED:,} "
        f"(s) | {EPOCHS} epochs (h) | peak GPU memory (GiB) |"
    )
    lines = [header, "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        if "error" in row:
            lines.append(
                f"| {row['family']} | {row['batch']} | {row['mode']} | failed: {row['error']} "
                "| | | | |"
            )
            continue
        lines.append(
            f"| {row['family']} | {row['batch']} | {row['mode']} | {cell(row, 'images_per_s', 1)} "
            f"| {cell(row, 'warmup_s', 1)} | {cell(row, 'epoch_s', 0)} "
            f"| {cell(row, 'epochs_100_h', 2)} | {cell(row, 'peak_gib', 2)} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, nargs="?", help="JSON file for the rows")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check the script")
    parser.add_argument("--families", nargs="+", default=["gan", "vae"])
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    parser.add_argument("--batches", nargs="+", type=int, help="default 16 64 128")
    parser.add_argument("--timeout", type=int, default=300, help="seconds per measurement")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(json.loads(args.child))))
        return
    if args.out is None:
        parser.error("the JSON output path is required")
    scale = QUICK if args.quick else FULL
    rows = []
    for family in args.families:
        for batch in args.batches or scale["batches"]:
            for mode in args.modes:
                spec = {
                    "family": family,
                    "batch": batch,
                    "mode": mode,
                    "quick": args.quick,
                    **{key: scale[key] for key in ("size", "steps", "timed_epochs")},
                }
                rows.append(run_child(spec, args.timeout))
                print(table(rows[-1:]).splitlines()[-1], flush=True)
    args.out.write_text(json.dumps(rows, indent=1) + "\n")
    print(f"\n{table(rows)}\n\nwritten to {args.out}")


if __name__ == "__main__":
    main()
