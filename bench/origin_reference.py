"""The origin's GAN, trained the way its public notebook did: the reference we compare to.

    python bench/origin_reference.py DATA_FOLDER --size 64 [--batch 64 --steps 5 --warmup 2]
    python bench/origin_reference.py DATA_FOLDER --size 64 --budget 300 --predict IN.npz --out OUT.npz

DATA_FOLDER holds ``landscape Images/color`` (clean) and ``landscape Images/gray``
(damaged) JPEGs, paired by file name (humanface8000's layout). As in the notebook,
batches are decoded and resized from the JPEG folders on the fly with
``keras.utils.image_dataset_from_directory`` and fed to a ``tf.function`` step
that runs two ``tf.GradientTape``s: BCE from logits + 100 x L1 for the generator,
BCE for the discriminator, two Adam(2e-4, beta_1=0.5) optimizers. Architecture as
in DESIGN.md: U-Net generator with log2(size) down blocks (8 at 256 px; widths
64,128,128,256,256,512,512,512), Dropout 0.5 on the three deepest up blocks; a
discriminator of 4 down blocks on (damaged, candidate) and a dense logit.
Deliberately standalone (TensorFlow and Keras only): it is the baseline, not ours.
Prints one JSON object: per-step seconds, steady images/s, first-step seconds, and
the step's time on a batch already in memory (its compute without the input pipeline).

With ``--budget`` it instead trains for that many seconds on shuffled batches (the
quality benchmark's reference), then restores the uint8 ``damaged`` array of
IN.npz twice: in inference mode, and with ``training=True`` as the TensorFlow pix2pix
tutorial the notebook follows does (BatchNorm on batch statistics, dropout on).
``--checkpoints`` adds the same two restorations at those training seconds (off the
clock), the curve the quality benchmark reads time to quality from.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from pathlib import Path

import keras
import tensorflow as tf

FILTERS = [64, 128, 128, 256, 256, 512, 512, 512]
DISCRIMINATOR_FILTERS = [64, 128, 256, 512]
INIT = keras.initializers.RandomNormal(0.0, 0.02)
MODES = (
    "inference",
    "training_mode",
)  # how --predict is restored: dropout and batch statistics off, on


def downsample(filters: int, batchnorm: bool = True) -> keras.Sequential:
    block = keras.Sequential(
        [
            keras.layers.Conv2D(
                filters, 4, strides=2, padding="same", kernel_initializer=INIT, use_bias=False
            )
        ]
    )
    if batchnorm:
        block.add(keras.layers.BatchNormalization())
    block.add(keras.layers.LeakyReLU(0.2))
    return block


def upsample(filters: int, dropout: bool = False) -> keras.Sequential:
    block = keras.Sequential(
        [
            keras.layers.Conv2DTranspose(
                filters, 4, strides=2, padding="same", kernel_initializer=INIT, use_bias=False
            ),
            keras.layers.BatchNormalization(),
        ]
    )
    if dropout:
        block.add(keras.layers.Dropout(0.5))
    block.add(keras.layers.ReLU())
    return block


def generator(size: int) -> keras.Model:
    widths = FILTERS[: int(math.log2(size))]
    inputs = keras.Input((size, size, 3))
    x, skips = inputs, []
    for level, width in enumerate(widths):
        x = downsample(width, batchnorm=level > 0)(x)
        skips.append(x)
    for step, level in enumerate(reversed(range(len(widths) - 1))):
        x = upsample(widths[level], dropout=step < 3)(x)
        x = keras.layers.Concatenate()([x, skips[level]])
    outputs = keras.layers.Conv2DTranspose(
        3, 4, strides=2, padding="same", kernel_initializer=INIT, activation="sigmoid"
    )(x)
    return keras.Model(inputs, outputs)


def discriminator(size: int) -> keras.Model:
    damaged, candidate = keras.Input((size, size, 3)), keras.Input((size, size, 3))
    x = keras.layers.Concatenate()([damaged, candidate])
    for level, width in enumerate(DISCRIMINATOR_FILTERS[: int(math.log2(size))]):
        x = downsample(width, batchnorm=level > 0)(x)
    logit = keras.layers.Dense(1, kernel_initializer=INIT)(keras.layers.Flatten()(x))
    return keras.Model([damaged, candidate], logit)


def pairs(folder: Path, size: int, batch: int) -> tf.data.Dataset:
    """(damaged, clean) float batches in [0, 1], decoded from the two JPEG folders."""
    root = Path(folder) / "landscape Images"
    kinds = [
        keras.utils.image_dataset_from_directory(
            root / kind,
            labels=None,
            image_size=(size, size),
            batch_size=batch,
            shuffle=False,
            verbose=False,
        )
        for kind in ("gray", "color")
    ]
    return tf.data.Dataset.zip(tuple(kinds)).map(
        lambda damaged, clean: (damaged / 255.0, clean / 255.0)
    )


def shuffled_pairs(folder: Path, size: int, batch: int, seed: int) -> tf.data.Dataset:
    """As ``pairs``, but image by image through a shuffle buffer, reshuffled every epoch."""
    root = Path(folder) / "landscape Images"
    kinds = [
        keras.utils.image_dataset_from_directory(
            root / kind,
            labels=None,
            image_size=(size, size),
            batch_size=None,
            shuffle=False,
            verbose=False,
        )
        for kind in ("gray", "color")
    ]
    pairs_ = (
        tf.data.Dataset.zip(tuple(kinds)).shuffle(1000, seed=seed).batch(batch, drop_remainder=True)
    )
    return pairs_.map(lambda damaged, clean: (damaged / 255.0, clean / 255.0)).prefetch(
        tf.data.AUTOTUNE
    )


def trainer(size: int):
    """The notebook's train step, closed over fresh networks and optimizers; returns (step, generator)."""
    gen, disc = generator(size), discriminator(size)
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    gen_opt = keras.optimizers.Adam(2e-4, beta_1=0.5)
    disc_opt = keras.optimizers.Adam(2e-4, beta_1=0.5)

    @tf.function
    def train_step(damaged, clean):
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            fake = gen(damaged, training=True)
            real_logit = disc([damaged, clean], training=True)
            fake_logit = disc([damaged, fake], training=True)
            gen_loss = bce(tf.ones_like(fake_logit), fake_logit) + 100.0 * tf.reduce_mean(
                tf.abs(clean - fake)
            )
            disc_loss = bce(tf.ones_like(real_logit), real_logit) + bce(
                tf.zeros_like(fake_logit), fake_logit
            )
        gen_opt.apply_gradients(
            zip(gen_tape.gradient(gen_loss, gen.trainable_variables), gen.trainable_variables)
        )
        disc_opt.apply_gradients(
            zip(disc_tape.gradient(disc_loss, disc.trainable_variables), disc.trainable_variables)
        )
        return gen_loss, disc_loss

    return train_step, gen


def run(folder: Path, size: int, batch: int = 64, steps: int = 5, warmup: int = 2) -> dict:
    """Time ``warmup + steps`` training steps, each from batch fetch to finished update."""
    step_fn, _ = trainer(size)
    times = []
    start = time.perf_counter()
    for damaged, clean in pairs(folder, size, batch).take(warmup + steps):
        losses = step_fn(damaged, clean)
        float(losses[0])  # the step has really finished
        now = time.perf_counter()
        times.append(now - start)
        start = now
    if len(times) < warmup + steps:
        raise ValueError(f"{folder}: only {len(times)} batches of {batch}, need {warmup + steps}")
    steady = times[warmup:]
    compute = []  # the same step on the last batch again: no decoding, so the difference is the input's
    for _ in range(steps):
        start = time.perf_counter()
        float(step_fn(damaged, clean)[0])
        compute.append(time.perf_counter() - start)
    return {
        "size": size,
        "batch": batch,
        "first_step_s": times[0],
        "step_s": statistics.median(steady),
        "steps_s": steady,
        "images_per_s": batch / statistics.median(steady),
        "compute_step_s": statistics.median(compute),
    }


def train_for(
    folder: Path,
    size: int,
    budget_s: float,
    batch: int = 64,
    seed: int = 0,
    checkpoints: list[float] = (),
    probe=None,
) -> tuple[keras.Model, dict, list]:
    """Train from scratch until ``budget_s`` seconds of training have passed (checked after each step).

    After the first step past each of ``checkpoints`` (training seconds) the clock stops
    for ``probe(generator)``; its results come back as (seconds, steps, result) rows.
    """
    keras.utils.set_random_seed(seed)
    step_fn, gen = trainer(size)
    data = shuffled_pairs(folder, size, batch, seed)
    pending, curve = sorted(checkpoints), []
    start, paused, steps, epochs = time.perf_counter(), 0.0, 0, 0

    def elapsed() -> float:
        return time.perf_counter() - start - paused

    while elapsed() < budget_s:
        epochs += 1
        for damaged, clean in data:
            float(step_fn(damaged, clean)[0])
            steps += 1
            now = elapsed()
            if now >= budget_s:
                break
            if pending and now >= pending[0]:
                while pending and now >= pending[0]:
                    pending.pop(0)
                stopped = time.perf_counter()
                curve.append((now, steps, probe(gen)))
                paused += time.perf_counter() - stopped
    if steps == 0:
        raise ValueError(f"{folder}: fewer than {batch} pairs, not one batch to train on")
    return (
        gen,
        {"train_s": elapsed(), "steps": steps, "images_seen": steps * batch, "epochs": epochs},
        curve,
    )


def restore(gen: keras.Model, damaged, training: bool, batch: int = 64):
    """uint8 (N, H, W, 3) in and out, rounded as restorebench rounds its predictions."""
    import numpy as np

    out = np.empty_like(damaged)
    for start in range(0, len(damaged), batch):
        x = damaged[start : start + batch].astype("float32") / 255.0
        y = gen(x, training=training).numpy()
        out[start : start + batch] = np.rint(np.clip(y, 0.0, 1.0) * 255).astype("uint8")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="holds 'landscape Images/{color,gray}'")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument(
        "--budget", type=float, help="train this many seconds, then restore --predict into --out"
    )
    parser.add_argument(
        "--predict", type=Path, help="an .npz holding uint8 'damaged' (N, size, size, 3)"
    )
    parser.add_argument(
        "--out", type=Path, help="the .npz to write, with 'inference' and 'training_mode' arrays"
    )
    parser.add_argument(
        "--checkpoints",
        default="",
        help="comma-separated training seconds at which --predict is also restored (curve<i>_<mode>)",
    )
    args = parser.parse_args()
    if args.budget is None:
        print(json.dumps(run(args.folder, args.size, args.batch, args.steps, args.warmup)))
        return
    if args.predict is None or args.out is None:
        parser.error("--budget needs --predict and --out")
    import numpy as np

    damaged = np.load(args.predict)["damaged"]

    def both_modes(gen: keras.Model) -> dict:
        return {mode: restore(gen, damaged, mode == "training_mode") for mode in MODES}

    checkpoints = [float(s) for s in args.checkpoints.split(",") if s]
    gen, figures, curve = train_for(
        args.folder, args.size, args.budget, args.batch, checkpoints=checkpoints, probe=both_modes
    )
    arrays = both_modes(gen)
    for i, (_, _, restored) in enumerate(curve):
        arrays.update({f"curve{i}_{mode}": images for mode, images in restored.items()})
    np.savez(args.out, **arrays)
    figures.update(curve_s=[s for s, _, _ in curve], curve_steps=[n for _, n, _ in curve])
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
