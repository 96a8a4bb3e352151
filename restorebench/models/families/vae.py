"""The ``vae`` family: a U-Net whose bottleneck is a sampled latent vector (the origin's VAE).

Encoder: stride-2 blocks down to a small map, then Dense mean and log-variance.
Decoder: the latent vector back to that map, up blocks joined to the encoder
outputs of the same size. Training samples z; restoring uses the mean, so the same
damaged image always gives the same result and the saved model needs no custom
layer (it loads with ``safe_mode=True`` and nothing registered).
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
from keras import layers, ops

from restorebench.models.blocks import (
    encode,
    levels,
    to_image,
    up,
    with_given_mask,
    with_paint_mask,
)
from restorebench.models.families.base import BlendSettings, Family, ema_options
from restorebench.models.families.inputs import DeviceInput
from restorebench.models.head import Head
from restorebench.models.losses import HeadLoss
from restorebench.runtime.accel import per_replica


@dataclass(frozen=True)
class VaeSettings(BlendSettings):
    """Defaults: our recipe at the origin's scale (its widths, 100 epochs, batch 64)."""

    learning_rate: float = 1.0e-3
    # Encoder widths, one per stride-2 level (used as far as the image side halves).
    filters: tuple[int, ...] = (64, 128, 128, 256, 256, 512, 512, 512)
    latent_dim: int = 64
    kl_weight: float = 1.0e-3  # KL (summed over latent dims) against pixel MSE in [0, 1]


def build_encoder(
    image_size: int,
    filters: tuple[int, ...],
    latent_dim: int,
    input_skip: bool = False,
    seed: int = 0,
    key: str = "models.vae",
) -> keras.Model:
    """damaged -> [mean, log_var, (damaged,) skip_0, ..., skip_{depth-2}].

    With ``input_skip`` the input itself is passed on as the full-size skip.
    """
    filters = levels(image_size, filters, f"{key}.filters")
    damaged = keras.Input((image_size, image_size, 3), name="damaged")
    skips = encode(damaged, filters, seed=seed, prefix="enc")
    flat = layers.Flatten(name="flatten")(skips[-1])
    # float32: exp(log_var) and the KL term overflow easily in half precision.
    mean = layers.Dense(latent_dim, dtype="float32", name="z_mean")(flat)
    log_var = layers.Dense(latent_dim, dtype="float32", name="z_log_var")(flat)
    passed = [damaged] if input_skip else []
    return keras.Model(damaged, [mean, log_var, *passed, *skips[:-1]], name="vae_encoder")


def build_decoder(
    image_size: int,
    filters: tuple[int, ...],
    latent_dim: int,
    head: Head | None = None,
    seed: int = 0,
    key: str = "models.vae",
) -> keras.Model:
    """[z, (damaged,) skip_0, ..., skip_{depth-2}] -> image in [0, 1].

    The deepest encoder map is not passed on: the latent vector is what stands for it.
    ``head`` says how the output is built (``blocks.to_image``; default: the origin's); with
    ``head.input_skip`` the damaged image is an input too.
    """
    filters = levels(image_size, filters, f"{key}.filters")
    head = head or Head()
    head.check(key)
    depth = len(filters)
    bottom = image_size // 2**depth
    z = keras.Input((latent_dim,), name="z")
    skips = [
        keras.Input((image_size // 2 ** (level + 1),) * 2 + (width,), name=f"skip{level}")
        for level, width in enumerate(filters[:-1])
    ]
    image = keras.Input((image_size, image_size, 3), name="damaged") if head.input_skip else None
    x = layers.Dense(bottom * bottom * filters[-1], name="z_project")(z)
    x = layers.Reshape((bottom, bottom, filters[-1]), name="z_map")(x)
    x = layers.ReLU(name="z_act")(x)
    for level in reversed(range(depth - 1)):
        x = up(x, filters[level], dropout=0.0, seed=seed + 100 + level, name=f"dec{level}")
        x = layers.Concatenate(name=f"join{level}")([x, skips[level]])
    output = to_image(
        x,
        seed=seed + 200,
        head=head,
        image=image,
        width=filters[0],
    )
    passed = [image] if head.input_skip else []
    return keras.Model([z, *passed, *skips], output, name="vae_decoder")


class VAE(DeviceInput, keras.Model):
    """Loss: pixel MSE + ``kl_weight`` x KL(q(z|x) || N(0, I)) summed over latent dims,
    the MSE and the head's terms beside it as ``head_loss`` says (``losses.HeadLoss``).

    Batches may come as uint8 (``families.inputs``); ``flip`` mirrors those while training.
    """

    def __init__(
        self,
        encoder: keras.Model,
        decoder: keras.Model,
        kl_weight: float,
        seed: int = 0,
        head_loss: HeadLoss | None = None,
        flip: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.init_input(flip, seed)
        self.encoder = encoder
        self.decoder = decoder
        self.kl_weight = kl_weight
        self.head_loss = head_loss = head_loss or HeadLoss()
        self.noise = keras.random.SeedGenerator(seed)
        self.reconstruction = keras.metrics.Mean(name="pixel_loss")
        self.kl = keras.metrics.Mean(name="kl")
        self.head_trackers = head_loss.trackers()
        # The decoder with its paint mask as a second output, for the mask's loss term.
        self.decoder_and_mask = with_paint_mask(decoder) if head_loss.needs_mask else None

    def call(self, damaged, training=False):
        mean, log_var, *skips = self.encoder(damaged, training=training)
        z = mean
        if training:
            z = mean + ops.exp(0.5 * log_var) * keras.random.normal(
                ops.shape(mean), seed=self.noise
            )
        if self.decoder_and_mask is None:
            return self.decoder([z, *skips], training=training), mean, log_var
        restored, mask = self.decoder_and_mask([z, *skips], training=training)
        return restored, mean, log_var, mask

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        restored, mean, log_var, *mask = y_pred
        mse = self.head_loss.pixel(ops.square(y - restored), x, y)
        kl = ops.mean(-0.5 * ops.sum(1.0 + log_var - ops.square(mean) - ops.exp(log_var), axis=-1))
        terms, values = self.head_loss.terms(restored, mask[0] if mask else None, x, y)
        for tracker, value in zip(
            (self.reconstruction, self.kl, *self.head_trackers), (mse, kl, *values)
        ):
            tracker.update_state(value)
        return per_replica(mse + self.kl_weight * kl + terms)

    def restorer(self) -> keras.Model:
        """The deterministic damaged -> restored model, saved as ``restorer.keras``."""
        damaged = keras.Input(self.encoder.input.shape[1:], name="damaged")
        mean, _, *skips = self.encoder(damaged)
        return keras.Model(damaged, self.decoder([mean, *skips]), name="vae")


def build_trainer(
    image_size: int,
    settings: VaeSettings,
    seed: int,
    jit_compile: bool,
    key: str = "models.vae",
    steps_per_execution: int = 1,
) -> VAE:
    layout = (image_size, settings.filters, settings.latent_dim)
    trainer = VAE(
        build_encoder(*layout, settings.input_skip, seed=seed, key=key),
        build_decoder(*layout, Head.of(settings), seed=seed, key=key),
        kl_weight=settings.kl_weight,
        seed=seed,
        head_loss=HeadLoss.of(settings),
        flip=settings.flip,
    )
    # mixed_float16 gets a LossScaleOptimizer from compile itself.
    trainer.compile(
        optimizer=keras.optimizers.Adam(settings.learning_rate, **ema_options(settings)),
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
    )
    # Weights and optimizer slots exist before a saved state is loaded into them.
    trainer(ops.zeros((1, image_size, image_size, 3)))
    trainer.optimizer.build(trainer.trainable_variables)
    return trainer


def restorer_with_paint_mask(restorer: keras.Model) -> keras.Model:
    """A saved VAE restorer (``VAE.restorer``) with its decoder's paint mask as a second output."""
    encoder, decoder = restorer.get_layer("vae_encoder"), restorer.get_layer("vae_decoder")
    both = with_paint_mask(decoder)
    damaged = keras.Input(encoder.input.shape[1:], name="damaged")
    mean, _, *skips = encoder(damaged)
    return keras.Model(damaged, both([mean, *skips]), name="vae_and_mask")


def restorer_with_given_mask(restorer: keras.Model) -> keras.Model:
    """A saved VAE restorer that fills a given mask (``blocks.with_given_mask``)."""
    encoder, decoder = restorer.get_layer("vae_encoder"), restorer.get_layer("vae_decoder")
    given = with_given_mask(decoder)
    damaged = keras.Input(encoder.input.shape[1:], name="damaged")
    mask = keras.Input((*encoder.input.shape[1:-1], 1), name="given_mask")
    mean, _, *skips = encoder(damaged)
    return keras.Model([damaged, mask], given([mean, *skips, mask]), name="vae_given_mask")


FAMILY = Family(
    "vae",
    VaeSettings,
    build=build_trainer,
    restorer=VAE.restorer,
    with_paint_mask=restorer_with_paint_mask,
    with_given_mask=restorer_with_given_mask,
)
