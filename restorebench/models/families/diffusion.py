"""The ``diffusion`` family: a conditional flow-matching restorer with a few-step sampler.

The study's open question is whether diffusion-type models beat the GAN at this task, and
at what sampling cost. The denoiser is a U-Net of the shared blocks that sees a noisy
image ``x_t = (1 - t) x + t e`` (``x`` the clean image scaled to [-1, 1], ``e`` Gaussian
noise, ``t`` in (0, 1]) beside the damaged image, with ``t`` embedded and added to every
up level, and predicts the clean image (the rectified-flow path with an x-prediction).

Sampling is DDIM's deterministic update on that path: from ``x_t`` to
``x_s = (s / t) x_t + (1 - s / t) x_pred`` in ``steps`` equal steps from pure noise at
``t = 1``. The sampler is built into the saved restorer from built-in layers only, the
denoiser called once per step: ``restorer.keras`` stays a damaged -> restored model that
loads in safe mode. Its starting noise is one fixed field drawn from the training seed and
stored in the model, so a restore is reproducible; one step is a regression to the
posterior mean, more steps trade that mean for sharper samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
from keras import layers, ops

from restorebench.models.blocks import (
    decode,
    encode,
    levels,
    to_image,
    with_paint_mask,
)
from restorebench.models.families.base import BlendSettings, Family, ema_options
from restorebench.models.families.inputs import DeviceInput
from restorebench.models.head import Head
from restorebench.models.losses import HeadLoss
from restorebench.runtime.accel import per_replica

DENOISER = "diffusion_denoiser"
START_NOISE = "start_noise"  # the sampler's fixed starting noise, a layer of the restorer
STEP_TIME = "step_time"  # the layers giving each step's t, ``{STEP_TIME}{k}``
# Training draws t = u ** (1 / TIME_POWER), u uniform: density TIME_POWER t^(TIME_POWER - 1),
# most of it at high noise, where a few-step sampler takes its first and hardest step.
TIME_POWER = 3.0


@dataclass(frozen=True)
class DiffusionSettings(BlendSettings):
    """Defaults: the GAN's generator widths, the VAE's rate, four sampling steps."""

    learning_rate: float = 1.0e-3
    # Denoiser widths, one per stride-2 level (used as far as the image side halves).
    filters: tuple[int, ...] = (64, 128, 128, 256, 256, 512, 512, 512)
    time_width: int = 128  # width of the noise-level embedding
    steps: int = 4  # sampling steps of the saved restorer

    def check(self, key: str) -> None:
        super().check(key)
        for name in ("steps", "time_width"):
            if getattr(self, name) < 1:
                raise ValueError(
                    f"config key {key}.{name}: must be at least 1, got {getattr(self, name)}"
                )


def _add_time(x, embedding, seed: int, name: str):
    """``x`` plus a per-channel shift learned from the time embedding."""
    shift = layers.Dense(
        x.shape[-1], kernel_initializer=keras.initializers.GlorotUniform(seed), name=name
    )(embedding)
    return layers.Add(name=f"{name}_add")([x, layers.Reshape((1, 1, x.shape[-1]))(shift)])


def build_denoiser(
    image_size: int,
    filters: tuple[int, ...],
    time_width: int = 128,
    head: Head | None = None,
    seed: int = 0,
    key: str = "models.diffusion",
) -> keras.Model:
    """[noisy, damaged, t] -> the clean image in [0, 1].

    ``noisy`` and the damaged image enter joined; GroupNorm, not BatchNorm, because the
    statistics of ``noisy`` change with ``t``. ``head`` as in the GAN's generator
    (``blocks.to_image``; default: input skip and blend, which keeps the damaged image's
    intact pixels).
    """
    filters = levels(image_size, filters, f"{key}.filters")
    head = head or Head(input_skip=True, blend=True)
    head.check(key)
    shape = (image_size, image_size, 3)
    noisy = keras.Input(shape, name="noisy")
    damaged = keras.Input(shape, name="damaged")
    time = keras.Input((1,), name="time")
    embedding = layers.Dense(time_width, activation="silu", name="time_embed0")(time)
    embedding = layers.Dense(time_width, activation="silu", name="time_embed1")(embedding)
    x = layers.Concatenate(name="noisy_and_damaged")([noisy, damaged])
    skips = encode(x, filters, seed=seed, prefix="down", norm="group")
    x = _add_time(skips[-1], embedding, seed + 500, "time_bottom")
    x = decode(
        x,
        skips,
        filters,
        seed=seed + 100,
        norm="group",
        per_level=lambda x, level: _add_time(x, embedding, seed + 500 + level, f"time{level}"),
    )
    output = to_image(
        x,
        seed=seed + 200,
        head=head,
        image=damaged if head.input_skip else None,
        width=filters[0],
        norm="group",
    )
    return keras.Model([noisy, damaged, time], output, name=DENOISER)


def start_noise(image_size: int, seed: int) -> np.ndarray:
    """The sampler's starting noise, (1, S * S * 3): the same field for every image."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((1, image_size * image_size * 3)).astype(np.float32)


def build_sampler(
    denoiser: keras.Model, steps: int, noise: np.ndarray, with_mask: bool = False
) -> keras.Model:
    """damaged -> restored: ``steps`` DDIM steps of ``denoiser`` from ``noise`` at t = 1.

    Built-in layers only: the constants (t, the noise) come from the input through
    layers that ignore its values, so the model saves and loads like any other. With
    ``with_mask`` the last step's paint mask is a second output.
    """
    if steps < 1:
        raise ValueError(f"sampling needs at least 1 step, got {steps}")
    size = denoiser.input_shape[1][1]
    damaged = keras.Input((size, size, 3), name="damaged")
    # A (batch, 1) tensor whose values do not depend on the image: the source of constants.
    pooled = layers.GlobalAveragePooling2D(name="pool")(damaged)
    unit = layers.Rescaling(0.0, 1.0, name="unit")(
        layers.GlobalAveragePooling1D(name="pool_channels")(layers.Reshape((3, 1))(pooled))
    )
    start = layers.Dense(size * size * 3, use_bias=False, trainable=False, name=START_NOISE)
    x = layers.Reshape((size, size, 3), name="noise")(start(unit))
    start.set_weights([noise.reshape(1, -1)])
    last = with_paint_mask(denoiser) if with_mask else denoiser
    for step in range(steps):
        t, s = 1.0 - step / steps, 1.0 - (step + 1) / steps
        time = layers.Rescaling(0.0, t, name=f"{STEP_TIME}{step}")(unit)
        network = last if step == steps - 1 else denoiser
        predicted = network([x, damaged, time])
        if step == steps - 1:
            return keras.Model(damaged, predicted, name=f"diffusion_{steps}_steps")
        # x_s = (s / t) x_t + (1 - s / t) (2 x_pred - 1), in the noisy images' [-1, 1] scale.
        keep = s / t
        x = layers.Add(name=f"step{step}")(
            [
                layers.Rescaling(keep, name=f"step{step}_keep")(x),
                layers.Rescaling(2 * (1 - keep), -(1 - keep), name=f"step{step}_new")(predicted),
            ]
        )
    raise AssertionError("unreachable")


class Diffusion(DeviceInput, keras.Model):
    """The denoiser trained by Keras' own ``fit`` step, whatever the backend.

    ``fit`` calls the model on the damaged images before ``compute_loss``; the noisy input
    needs the clean ones, which only ``compute_loss`` gets, so while training ``call`` passes
    its input through and ``compute_loss`` runs the denoiser. Outside training ``call`` is
    the sampler, so validation and ``evaluate`` score real restorations. Batches may come
    as uint8 (``families.inputs``); ``flip`` mirrors those while training.
    """

    def __init__(
        self,
        denoiser: keras.Model,
        steps: int,
        seed: int = 0,
        head_loss: HeadLoss | None = None,
        flip: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.init_input(flip, seed)
        self.denoiser = denoiser
        self.head_loss = head_loss = head_loss or HeadLoss()
        self.head_trackers = head_loss.trackers()
        # The denoiser with its paint mask as a second output, for the mask's loss term.
        self.denoiser_and_mask = with_paint_mask(denoiser) if head_loss.needs_mask else None
        self.noise = keras.random.SeedGenerator(seed)
        size = denoiser.input_shape[1][1]
        self.sampler = build_sampler(denoiser, steps, start_noise(size, seed))
        self.error = keras.metrics.Mean(name="pixel_loss")

    def call(self, damaged, training=False):
        return damaged if training else self.sampler(damaged)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        x, y = ops.convert_to_tensor(x), ops.convert_to_tensor(y)  # JAX without jit passes arrays
        u = keras.random.uniform((ops.shape(y)[0], 1), seed=self.noise)
        t = ops.power(u, 1.0 / TIME_POWER)
        noise = keras.random.normal(ops.shape(y), seed=self.noise)
        spread = ops.reshape(t, (-1, 1, 1, 1))
        noisy = (1.0 - spread) * (2.0 * y - 1.0) + spread * noise
        mask = None
        if self.denoiser_and_mask is None:
            predicted = self.denoiser([noisy, x, t], training=training)
        else:
            predicted, mask = self.denoiser_and_mask([noisy, x, t], training=training)
        mse = self.head_loss.pixel(ops.square(y - predicted), x, y)
        terms, values = self.head_loss.terms(predicted, mask, x, y)
        for tracker, value in zip((self.error, *self.head_trackers), (mse, *values)):
            tracker.update_state(value)
        return per_replica(mse + terms)


def build_trainer(
    image_size: int,
    settings: DiffusionSettings,
    seed: int,
    jit_compile: bool,
    key: str = "models.diffusion",
    steps_per_execution: int = 1,
) -> Diffusion:
    denoiser = build_denoiser(
        image_size,
        settings.filters,
        settings.time_width,
        Head.of(settings),
        seed=seed,
        key=key,
    )
    trainer = Diffusion(
        denoiser,
        settings.steps,
        seed=seed,
        head_loss=HeadLoss.of(settings),
        flip=settings.flip,
    )
    trainer.compile(
        optimizer=keras.optimizers.Adam(settings.learning_rate, **ema_options(settings)),
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
    )
    # Weights and optimizer slots exist before a saved state is loaded into them.
    trainer(ops.zeros((1, image_size, image_size, 3)))
    trainer.optimizer.build(trainer.trainable_variables)
    return trainer


def resample(restorer: keras.Model, steps: int, with_mask: bool = False) -> keras.Model:
    """A saved diffusion restorer rebuilt with another number of steps (same denoiser, noise)."""
    denoiser = restorer.get_layer(DENOISER)
    noise = restorer.get_layer(START_NOISE).get_weights()[0]
    return build_sampler(denoiser, steps, noise, with_mask=with_mask)


def steps_of(restorer: keras.Model) -> int:
    """How many sampling steps a saved diffusion restorer takes."""
    return sum(layer.name.startswith(STEP_TIME) for layer in restorer.layers)


FAMILY = Family(
    "diffusion",
    DiffusionSettings,
    build=build_trainer,
    restorer=lambda trainer: trainer.sampler,
    with_paint_mask=lambda restorer: resample(restorer, steps_of(restorer), with_mask=True),
)
