"""BatchNorm statistics measured once more after training, with the final weights.

While training, the moving statistics follow the last few batches (momentum 0.9) of
weights that kept changing, and behind dropout they saw activations with dropout's
variance; inference has dropout off. The mismatch can wreck the restorer's output within
one epoch, so ``fit`` recalibrates before it saves.
"""

from __future__ import annotations

from collections.abc import Iterator

import keras

from restorebench.training.batches import PairBatches, unit_floats


def _layers(network: keras.Model) -> Iterator[keras.layers.Layer]:
    """Every layer of ``network``, nested models included."""
    for layer in network.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _layers(layer)


def recalibrate_batchnorm(network: keras.Model, batches: PairBatches, limit: int = 100) -> None:
    """Set each BatchNorm's statistics to the plain average over up to ``limit`` batches.

    The batches (float, or uint8 made for the device) run through ``network`` with its
    final weights, BatchNorm in training mode and dropout disabled; momenta and dropout rates are put back afterwards.
    """
    norms = [
        layer for layer in _layers(network) if isinstance(layer, keras.layers.BatchNormalization)
    ]
    dropouts = [layer for layer in _layers(network) if isinstance(layer, keras.layers.Dropout)]
    momenta, rates = [n.momentum for n in norms], [d.rate for d in dropouts]
    try:
        for dropout in dropouts:
            dropout.rate = 0.0
        for step in range(min(limit, len(batches))):
            for norm in norms:
                norm.momentum = step / (step + 1)  # running average: batch k gets weight 1/k
            network(unit_floats(batches[step][0]), training=True)
    finally:
        for norm, momentum in zip(norms, momenta):
            norm.momentum = momentum
        for dropout, rate in zip(dropouts, rates):
            dropout.rate = rate
