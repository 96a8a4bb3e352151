"""The U-Net building blocks every family shares (pix2pix conventions).

Each block halves or doubles the side with a 4x4 stride-2 convolution, the choice of
the pix2pix paper and of the origin notebooks; weights start from N(0, 0.02).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import keras
from keras import layers, ops

KERNEL = 4
# pix2pix's PyTorch BatchNorm momentum (0.1 there is 0.9 here); Keras' 0.99 leaves the
# moving statistics far from the batch ones after a short demo run, ruining inference.
BN_MOMENTUM = 0.9


# The normalization a block can use. BatchNorm is pix2pix's; a diffusion denoiser sees
# inputs whose statistics change with the noise level, so it normalizes per image, in
# channel groups (at most 8: one group per channel, instance norm, loses colour levels).
NORMALIZATIONS = ("batch", "group")
GROUPS = 8


def _init(seed: int) -> keras.initializers.Initializer:
    return keras.initializers.RandomNormal(0.0, 0.02, seed=seed)


def _normalize(x, kind: str, name: str):
    if kind == "batch":
        return layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    if kind == "group":
        return layers.GroupNormalization(math.gcd(x.shape[-1], GROUPS), name=f"{name}_gn")(x)
    raise ValueError(f"unknown normalization '{kind}', expected one of {NORMALIZATIONS}")


def levels(image_size: int, filters: list[int], key: str) -> list[int]:
    """The widths of the levels an image of this side has room for.

    Each entry of ``filters`` is one stride-2 level; levels stop where the side no
    longer halves cleanly (at 1x1 for a power of two), so one list (the origin's
    eight levels for 256 px) serves every image size. Raises ValueError naming the
    config key when not even one level fits.
    """
    halvings, side = 0, image_size
    while side % 2 == 0 and halvings < len(filters):
        side //= 2
        halvings += 1
    if halvings == 0:
        raise ValueError(f"config key {key}: image_size {image_size} cannot be halved even once")
    return list(filters[:halvings])


# A pixel counts as painted where damaged and clean differ by more than this in a channel.
PAINT_STEP = 8 / 255
PAINT_MASK = "paint_mask"  # the layer of a blend model's mask, found by name in a saved model


def pixel_loss(errors, damaged, clean, damage_weight: float):
    """Mean of per-pixel ``errors``, painted pixels weighted ``1 + damage_weight``.

    Paint covers a few percent of an image, so a plain mean is mostly about pixels
    that only need copying; the weight shifts the loss toward the ones to restore.
    """
    if not damage_weight:
        return ops.mean(errors)
    painted = ops.max(ops.abs(damaged - clean), axis=-1, keepdims=True) > PAINT_STEP
    weights = 1.0 + damage_weight * ops.cast(painted, errors.dtype)
    return ops.mean(errors * weights) / ops.mean(weights)


def needs_input(blend: bool, input_skip: bool, section: str) -> None:
    """``blend`` mixes with the full-size input, which only ``input_skip`` brings to the output."""
    if blend and not input_skip:
        raise ValueError(f"config key {section}.blend: needs {section}.input_skip: true")


def down(x, filters: int, *, normalized: bool, seed: int, name: str, norm: str = "batch"):
    """Conv 4x4/2 -> (normalization ``norm`` where ``normalized``) -> LeakyReLU(0.2)."""
    x = layers.Conv2D(
        filters,
        KERNEL,
        strides=2,
        padding="same",
        use_bias=False,
        kernel_initializer=_init(seed),
        name=f"{name}_conv",
    )(x)
    if normalized:
        x = _normalize(x, norm, name)
    return layers.LeakyReLU(0.2, name=f"{name}_act")(x)


def encode(x, filters: list[int], *, seed: int, prefix: str, norm: str = "batch") -> list:
    """The stride-2 down path every family's U-Net starts with: one block per width, no
    normalization on the first (pix2pix); returns every block's output, deepest last."""
    outputs = []
    for level, width in enumerate(filters):
        x = down(
            x, width, normalized=level > 0, seed=seed + level, name=f"{prefix}{level}", norm=norm
        )
        outputs.append(x)
    return outputs


def up(x, filters: int, *, dropout: float, seed: int, name: str, norm: str = "batch"):
    """ConvTranspose 4x4/2 -> normalization ``norm`` -> (Dropout) -> ReLU."""
    x = layers.Conv2DTranspose(
        filters,
        KERNEL,
        strides=2,
        padding="same",
        use_bias=False,
        kernel_initializer=_init(seed),
        name=f"{name}_deconv",
    )(x)
    x = _normalize(x, norm, name)
    if dropout:
        x = layers.Dropout(dropout, seed=seed, name=f"{name}_dropout")(x)
    return layers.ReLU(name=f"{name}_act")(x)


def decode(
    x,
    skips: list,
    filters: list[int],
    *,
    seed: int,
    norm: str = "batch",
    dropout: float = 0.0,
    dropout_levels: int = 3,
    per_level: Callable[[object, int], object] | None = None,
):
    """The U-Net up path every family's decoder shares, from the bottom ``x`` to level 0.

    One ``up`` block per level above the deepest of ``encode``'s ``skips``, each joined to
    that level's skip; one loop, so the GAN and the diffusion denoiser cannot drift apart.
    ``dropout`` goes on the ``dropout_levels`` deepest up blocks only (pix2pix). The
    optional ``per_level(x, level)`` rewrites each up block's output before its skip joins
    (the diffusion denoiser adds its noise-level shift there).
    """
    for step, level in enumerate(reversed(range(len(filters) - 1))):
        x = up(
            x,
            filters[level],
            dropout=dropout if step < dropout_levels else 0.0,
            seed=seed + level,
            name=f"up{level}",
            norm=norm,
        )
        if per_level is not None:
            x = per_level(x, level)
        x = layers.Concatenate(name=f"skip{level}")([x, skips[level]])
    return x


def to_image(x, *, seed: int, image=None, width: int = 0, blend: bool = False, norm: str = "batch"):
    """The last up step, to RGB; a sigmoid keeps the output in [0, 1] as the contract says.

    It computes in float32 whatever the mixed-precision policy, so saved models keep
    returning float32 and no bf16 rounding (1/128 near 1.0) reaches the uint8 pixels.

    (The origin's VAE stacked this sigmoid on a ReLU, so no pixel could fall below 0.5.)
    Given the network's input ``image``, features are first brought to full size with
    ``width`` channels and joined to it, a full-resolution skip the origin's U-Nets
    lack: undamaged pixels then pass through sharp instead of being rebuilt from half
    resolution.

    With ``blend`` (needs ``image``) the network also predicts a soft paint mask m and
    returns image + m x (candidate - image): where it sees no damage (m near 0) the
    input pixel comes back unchanged, so the network spends itself on the damage.
    """
    if image is None:
        return layers.Conv2DTranspose(
            3,
            KERNEL,
            strides=2,
            padding="same",
            activation="sigmoid",
            kernel_initializer=_init(seed),
            dtype="float32",
            name="to_image",
        )(x)
    x = up(x, width, dropout=0.0, seed=seed, name="full", norm=norm)
    x = layers.Concatenate(name="join_input")([x, image])
    rgb = layers.Conv2D(
        3,
        3,
        padding="same",
        activation="sigmoid",
        kernel_initializer=_init(seed + 1),
        dtype="float32",
        name="candidate" if blend else "to_image",
    )(x)
    if not blend:
        return rgb
    mask = layers.Conv2D(
        1,
        3,
        padding="same",
        activation="sigmoid",
        kernel_initializer=_init(seed + 2),
        dtype="float32",
        name=PAINT_MASK,
    )(x)
    change = layers.Subtract(dtype="float32", name="change")([rgb, image])
    return layers.Add(dtype="float32", name="to_image")(
        [image, layers.Multiply(dtype="float32", name="masked")([mask, change])]
    )


def with_paint_mask(network: keras.Model) -> keras.Model:
    """A blend network (built with ``to_image(blend=True)``) with its paint mask as a second output."""
    mask = network.get_layer(PAINT_MASK).output
    return keras.Model(network.inputs, [network.outputs[0], mask], name=f"{network.name}_and_mask")
