"""A batch made ready at the top of the step: uint8 pairs to float32 [0, 1], mirrored there.

Not a family: the part every family's trainer shares so that the host only slices uint8
arrays (``training.batches.PairBatches`` with ``unit=False``). A batch's dtype says where
it was made: float32 came from the host already converted and mirrored and passes
unchanged; uint8 is converted here with the host's arithmetic (``x * float32(1/255)``,
so both paths give the same floats) and, in a training step of a trainer whose settings
flip, each pair is mirrored left-right with probability 1/2, damaged and clean alike.
The draw comes from a seeded ``keras.random.SeedGenerator`` of the trainer, so a run
repeats from its seed; under JAX its state travels in the step's non-trainable values.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

# The host's scale (training.batches): a multiply by the rounded reciprocal, not a divide.
UNIT = np.float32(1 / 255)
# Added to the trainer's seed: the flip draws repeat no stream of the layers' seeds.
FLIP_SEED_OFFSET = 9001


def to_unit(images):
    """uint8 images as float32 in [0, 1]; floats (converted on the host) pass unchanged."""
    if not _is_uint8(images):
        return images
    return ops.cast(images, "float32") * UNIT


def mirror_pairs(damaged, clean, seed: keras.random.SeedGenerator):
    """Each pair mirrored left-right with probability 1/2, the same draw for both halves.

    Faces and scribbles have no handedness, so mirroring doubles the poses seen; one draw
    per pair keeps the damaged image the clean one's partner.
    """
    draw = keras.random.uniform((ops.shape(damaged)[0], 1, 1, 1), seed=seed)
    mirrored = draw < 0.5
    return (
        ops.where(mirrored, ops.flip(damaged, axis=2), damaged),
        ops.where(mirrored, ops.flip(clean, axis=2), clean),
    )


class DeviceInput:
    """Mixin of a trainer (before ``keras.Model`` in its bases) that takes uint8 batches.

    ``train_step`` and ``test_step`` make the batch ready (:meth:`ready`) and hand it to
    the next class's step, Keras' own for the VAE and the diffusion model; a trainer with
    its own steps (the GAN's) calls :meth:`ready` or :meth:`ready_stateless` at their top.
    """

    def init_input(self, flip: bool, seed: int) -> None:
        """Call in ``__init__`` after ``keras.Model.__init__``: whether uint8 batches are
        mirrored while training, and the seed of that draw."""
        self.flip_pairs = flip
        self.flip_seed = None
        if flip:
            self.flip_seed = keras.random.SeedGenerator(seed + FLIP_SEED_OFFSET, name="flip_seed")

    def ready(self, data: Any, training: bool) -> Any:
        """``(damaged, clean, ...)`` as float32, uint8 pairs mirrored while training."""
        damaged, clean, *rest = data
        mirror = training and self.flip_pairs and _is_uint8(damaged)
        damaged, clean = to_unit(damaged), to_unit(clean)
        if mirror:
            damaged, clean = mirror_pairs(damaged, clean, self.flip_seed)
        return (damaged, clean, *rest)

    def ready_stateless(self, fixed: list, data: Any, training: bool) -> tuple[list, Any]:
        """:meth:`ready` as a pure function of the trainer's non-trainable values ``fixed``
        (JAX's steps): returns them with the flip seed advanced, and the batch."""
        variables = self.non_trainable_variables
        with keras.StatelessScope(state_mapping=list(zip(variables, fixed))) as scope:
            data = self.ready(data, training)
        after = [scope.get_current_value(v) for v in variables]
        return [new if new is not None else old for new, old in zip(after, fixed)], data

    def train_step(self, *args):
        """``(data)`` under TensorFlow; ``(state, data)`` under JAX, whose steps are pure."""
        if keras.backend.backend() != "jax":
            return super().train_step(self.ready(args[0], training=True))
        (weights, fixed, *others), data = args
        fixed, data = self.ready_stateless(fixed, data, training=True)
        return super().train_step((weights, fixed, *others), data)

    def test_step(self, *args):
        if keras.backend.backend() != "jax":
            return super().test_step(self.ready(args[0], training=False))
        state, data = args
        return super().test_step(state, self.ready(data, training=False))


def _is_uint8(images) -> bool:
    return keras.backend.standardize_dtype(images.dtype) == "uint8"
