"""Child process: where one GAN training step's time goes, on in-memory batches.

    python -m bench.breakdown_probe SIZE BATCH REPEATS

Times, each as the median of REPEATS calls after one warm-up (graph already built):
our whole step (``Pix2Pix.train_step``), the generator's forward and backward pass,
one discriminator pass forward and backward (ours runs two per step), and the
origin notebook's step on the same tensors (so its JPEG input pipeline's share
follows from the loop's own step time). Prints one JSON object.
"""

from __future__ import annotations

import json
import statistics
import sys
import time

from restorebench.runtime import accel

accel.configure()  # before TensorFlow is first imported, by the imports below

import tensorflow as tf

from bench import origin_reference
from bench.train_probe import origin_settings
from restorebench.training.fit import build_trainer


def _median(call, repeats: int) -> float:
    float(tf.reduce_sum(tf.nest.flatten(call())[0]))  # warm-up: traces and builds the graph
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        float(tf.reduce_sum(tf.nest.flatten(call())[0]))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    size, batch, repeats = map(int, sys.argv[1:4])
    damaged = tf.random.uniform((batch, size, size, 3))
    clean = tf.random.uniform((batch, size, size, 3))
    trainer = build_trainer("gan", size, origin_settings("gan", batch), seed=0)
    generator, discriminator = trainer.generator, trainer.discriminator

    @tf.function
    def generator_pass():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.abs(clean - generator(damaged, training=True)))
        return tape.gradient(loss, generator.trainable_variables)

    @tf.function
    def generator_forward():
        return generator(damaged, training=True)

    @tf.function
    def discriminator_pass():
        candidate = tf.identity(clean)
        with tf.GradientTape() as tape:
            tape.watch(candidate)
            loss = tf.reduce_mean(discriminator([damaged, candidate], training=True))
        return tape.gradient(loss, [candidate, *discriminator.trainable_variables])

    step = tf.function(trainer.train_step)
    origin_step, _ = origin_reference.trainer(size)
    figures = {
        "size": size,
        "batch": batch,
        "ours_step_s": _median(lambda: list(step((damaged, clean)).values()), repeats),
        "generator_pass_s": _median(generator_pass, repeats),
        "generator_forward_s": _median(generator_forward, repeats),
        "discriminator_pass_s": _median(discriminator_pass, repeats),
        "origin_step_s": _median(lambda: origin_step(damaged, clean), repeats),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
