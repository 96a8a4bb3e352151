"""The U-Net building blocks every family shares (pix2pix conventions).

Each block halves or doubles the side with a 4x4 stride-2 convolution, the choice of
the pix2pix paper and of the origin notebooks; weights start from N(0, 0.02).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import keras
import numpy as np
from keras import layers, ops

from restorebench.models.head import Head

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


PAINT_MASK = "paint_mask"  # the layer of a blend model's mask, found by name in a saved model


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


# Confidence a smoothing scale needs before its fill replaces the coarser one: the share
# of its blur weight on unpainted pixels at which it counts fully.
FILL_CONFIDENCE = 0.1
# Jacobi steps toward the harmonic fill (each painted pixel the mean of its 4 neighbours)
# from the smoothing's estimate, which is close enough that a few suffice.
HARMONIC_STEPS = 10
# Heavy-ball gradient descent on the biharmonic energy from the harmonic fill: its step
# (1 / the largest eigenvalue of the squared 4-neighbour Laplacian), its momentum, and
# steps per pixel of the side (strokes are wider in pixels at larger sides) and at least.
BIHARMONIC_STEP = 1.0 / 64.0
BIHARMONIC_MOMENTUM = 0.9
BIHARMONIC_STEPS_PER_PX = 0.5
BIHARMONIC_MIN_STEPS = 8
# A painted pixel, for the hard blend: the predicted mask above this.
MASK_THRESHOLD = 0.5


def _gaussian_taps(sigma: float) -> np.ndarray:
    radius = int(2 * sigma)
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    return (taps / taps.sum()).astype("float32")


def _depthwise(x, kernel: np.ndarray):
    """``x`` convolved per channel with the 2-D ``kernel``, zeros beyond the border."""
    channels = x.shape[-1]
    weights = np.tile(kernel[:, :, None, None], (1, 1, channels, 1)).astype("float32")
    return ops.depthwise_conv(x, ops.convert_to_tensor(weights), padding="same")


NEIGHBOURS = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], "float32")


@keras.saving.register_keras_serializable(package="restorebench")
class SmoothFill(layers.Layer):
    """The unpainted pixels of ``image`` spread into the painted ones: classical inpainting.

    First a normalized convolution per scale (a Gaussian blur of the image weighted by
    1 - mask over the blur of the weight, so only unpainted pixels count), from 1 px to a
    sixteenth of the side, each scale trusted where enough unpainted pixels fall under it
    and coarser ones (down to the image's mean colour) filling the rest; then Jacobi steps
    toward the harmonic fill; ``biharmonic`` then descends to the biharmonic fill (as
    scikit-image's ``inpaint_biharmonic``, the inpaint baselines' fill), which continues
    the slopes at a stroke's rims instead of flattening them. A layer without weights: a candidate built on it starts where classical
    inpainting ends, and the network learns the correction. The mask and the image reach
    it without gradient, so the fill cannot pull the mask toward what is easy to fill,
    and training never differentiates the descent. ``biharmonic`` defaults to off, as in
    the models saved before it existed.
    """

    def __init__(self, biharmonic: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.biharmonic = biharmonic

    def get_config(self):
        return {**super().get_config(), "biharmonic": self.biharmonic}

    def build(self, input_shape):
        side = input_shape[0][1]
        self.sigmas = [2.0**k for k in range(max(1, int(math.log2(max(side // 16, 1))) + 1))]
        self.biharmonic_steps = max(BIHARMONIC_MIN_STEPS, int(side * BIHARMONIC_STEPS_PER_PX))

    def call(self, inputs):
        image, mask = inputs
        image, mask = ops.stop_gradient(image), ops.stop_gradient(mask)
        keep = 1.0 - mask
        stack = ops.concatenate([image * keep, keep], axis=-1)
        sums = ops.sum(stack, axis=(1, 2), keepdims=True)
        estimate = sums[..., :3] / ops.maximum(sums[..., 3:], 1e-3)
        for sigma in reversed(self.sigmas):
            taps = _gaussian_taps(sigma)
            blurred = _depthwise(_depthwise(stack, taps[:, None]), taps[None, :])
            weight = blurred[..., 3:]
            fill = blurred[..., :3] / ops.maximum(weight, 1e-3)
            trust = ops.clip(weight / FILL_CONFIDENCE, 0.0, 1.0)
            estimate = trust * fill + (1.0 - trust) * estimate
        filled = image + mask * (estimate - image)
        # Border pixels average the neighbours they have.
        count = _depthwise(ops.ones_like(mask), NEIGHBOURS)
        for _ in range(HARMONIC_STEPS):
            filled = image + mask * (_depthwise(filled, NEIGHBOURS) / count - image)
        if self.biharmonic:
            filled = _biharmonic_descent(filled, mask, count, self.biharmonic_steps)
        return filled

    def compute_output_shape(self, input_shape):
        return input_shape[0]


def _biharmonic_descent(filled, mask, count, steps: int):
    """``filled`` moved inside ``mask`` toward the minimum of the squared Laplacian's sum.

    The Laplacian counts only the neighbours a pixel has (``count``), so it is symmetric
    and the descent converges; momentum makes thin strokes converge in tens of steps.
    """

    def laplacian(x):
        return _depthwise(x, NEIGHBOURS) - count * x

    def step(_, state):
        values, velocity = state
        velocity = BIHARMONIC_MOMENTUM * velocity - BIHARMONIC_STEP * mask * laplacian(
            laplacian(values)
        )
        return values + velocity, velocity

    filled, _ = ops.fori_loop(0, steps, step, (filled, ops.zeros_like(filled)))
    return filled


@keras.saving.register_keras_serializable(package="restorebench")
class HardMask(layers.Layer):
    """The mask thresholded at ``MASK_THRESHOLD``, its gradient passed through as if soft.

    A soft mask of 0.4 over a faint stroke edge keeps 60 % of its paint; a hard one takes
    the pixel wholly or not at all, as inpainting does, while the straight-through gradient
    still lets the loss move the soft mask under it.
    """

    def call(self, mask):
        hard = ops.cast(mask > MASK_THRESHOLD, mask.dtype)
        return mask + ops.stop_gradient(hard - mask)


# The layers of ours a saved model may hold, by their registered names: what ``load_model``
# needs beside Keras' own (``inference.load`` passes them).
CUSTOM_LAYERS = {keras.saving.get_registered_name(layer): layer for layer in (SmoothFill, HardMask)}


def to_image(
    x,
    *,
    seed: int,
    head: Head,
    image=None,
    width: int = 0,
    norm: str = "batch",
):
    """The last up step, to RGB; a sigmoid keeps the output in [0, 1] as the contract says.

    It computes in float32 whatever the mixed-precision policy, so saved models keep
    returning float32 and no bf16 rounding (1/128 near 1.0) reaches the uint8 pixels.

    (The origin's VAE stacked this sigmoid on a ReLU, so no pixel could fall below 0.5.)
    Given the network's input ``image``, features are first brought to full size with
    ``width`` channels and joined to it, a full-resolution skip the origin's U-Nets
    lack: undamaged pixels then pass through sharp instead of being rebuilt from half
    resolution.

    With ``head.blend`` (needs ``image``) the network also predicts a soft paint mask m and
    returns image + m x (candidate - image): where it sees no damage (m near 0) the
    input pixel comes back unchanged, so the network spends itself on the damage.
    ``head.fill_prior`` (needs ``blend``) blends through the mask thresholded (``HardMask``),
    the candidate ``SmoothFill`` of the image under it (ending in the biharmonic fill with
    ``head.biharmonic_fill``) plus a learned correction, clipped to [0, 1]; with
    ``head.soft_blend`` the blend goes through the soft mask (the fill stays under the hard
    one): where the network is unsure, its output lies between input and fill.
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
    if head.fill_prior:
        return _blend_on_smooth_fill(x, image, seed, head)
    rgb = layers.Conv2D(
        3,
        3,
        padding="same",
        activation="sigmoid",
        kernel_initializer=_init(seed + 1),
        dtype="float32",
        name="candidate" if head.blend else "to_image",
    )(x)
    if not head.blend:
        return rgb
    return _blend(image, _paint_mask(x, seed), rgb)


def _paint_mask(x, seed: int):
    return layers.Conv2D(
        1,
        3,
        padding="same",
        activation="sigmoid",
        kernel_initializer=_init(seed + 2),
        dtype="float32",
        name=PAINT_MASK,
    )(x)


def _blend(image, mask, candidate):
    change = layers.Subtract(dtype="float32", name="change")([candidate, image])
    return layers.Add(dtype="float32", name="to_image")(
        [image, layers.Multiply(dtype="float32", name="masked")([mask, change])]
    )


def _blend_on_smooth_fill(x, image, seed: int, head: Head):
    """``to_image``'s blend through the hard mask (or the soft one, ``head.soft_blend``), its
    candidate ``SmoothFill`` plus a correction.

    Under squared error the best output for a pixel that is paint with probability p is
    p x fill + (1 - p) x input, not the fill or the input alone: the soft blend, with the
    mask's cross-entropy making p a probability, spends less on the pixels it is unsure of.
    """
    soft = _paint_mask(x, seed)
    mask = HardMask(dtype="float32", name="hard_mask")(soft)
    smooth = SmoothFill(head.biharmonic_fill, dtype="float32", name="smooth_fill")([image, mask])
    features = layers.Concatenate(name="join_fill")([x, smooth])
    # Zero at the start: training begins from the classical fill and moves off it only
    # where the loss keeps asking, instead of from a random perturbation of it.
    correction = layers.Conv2D(
        3, 3, padding="same", kernel_initializer="zeros", dtype="float32", name="correction"
    )(features)
    candidate = layers.ReLU(max_value=1.0, dtype="float32", name="candidate")(
        layers.Add(dtype="float32", name="smooth_plus_correction")([smooth, correction])
    )
    return _blend(image, soft if head.soft_blend else mask, candidate)


def with_paint_mask(network: keras.Model) -> keras.Model:
    """A blend network (``to_image`` with ``Head(blend=True)``), its paint mask a second output."""
    mask = network.get_layer(PAINT_MASK).output
    return keras.Model(network.inputs, [network.outputs[0], mask], name=f"{network.name}_and_mask")


def with_given_mask(network: keras.Model) -> keras.Model:
    """A blend network with a second input, a 0/1 mask, that it fills in place of its own.

    Its candidate is built as trained (on ``SmoothFill`` of the given mask with
    ``fill_prior``) and blended through that mask: with the true damage given, what is
    left of the error is the fill alone, apart from the finding.
    """
    joined = network.get_layer("join_input")
    image = joined.input[1]
    mask = keras.Input((*image.shape[1:-1], 1), name="given_mask")
    try:
        smooth_fill = network.get_layer("smooth_fill")
    except ValueError:  # a blend without fill_prior: its candidate ignores the mask
        candidate = network.get_layer("candidate").output
    else:
        smooth = smooth_fill([image, mask])
        features = network.get_layer("join_fill")([joined.output, smooth])
        correction = network.get_layer("correction")(features)
        total = network.get_layer("smooth_plus_correction")([smooth, correction])
        candidate = network.get_layer("candidate")(total)
    change = layers.Subtract(dtype="float32")([candidate, image])
    output = layers.Add(dtype="float32")([image, layers.Multiply(dtype="float32")([mask, change])])
    return keras.Model([*network.inputs, mask], output, name=f"{network.name}_given_mask")
