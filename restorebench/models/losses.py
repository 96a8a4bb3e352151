"""The loss terms of the output head every U-Net family shares, in one place.

A family computes its own main loss (the VAE's MSE and KL, pix2pix's adversarial and L1
terms, the denoiser's MSE); the head's terms beside it (painted pixels weighted, the
paint mask's cross-entropy, 1 - SSIM) are :class:`HeadLoss`'s, so a new term is one
edit here and one setting in ``BlendSettings``, whichever family and backend trains it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import keras
from keras import ops

# A pixel counts as painted where damaged and clean differ by more than this in a channel.
PAINT_STEP = 8 / 255


def painted(damaged, clean):
    """(B, H, W, 1) bool: where a channel of the pair differs by more than ``PAINT_STEP``.

    The damage as the loss sees it, read from the pair itself, so training needs no stored
    mask and weighs exactly what the pair shows.
    """
    return ops.max(ops.abs(damaged - clean), axis=-1, keepdims=True) > PAINT_STEP


def pixel_loss(errors, damaged, clean, damage_weight: float):
    """Mean of per-pixel ``errors``, painted pixels weighted ``1 + damage_weight``.

    Paint covers a few percent of an image, so a plain mean is mostly about pixels
    that only need copying; the weight shifts the loss toward the ones to restore.
    """
    if not damage_weight:
        return ops.mean(errors)
    weights = 1.0 + damage_weight * ops.cast(painted(damaged, clean), errors.dtype)
    return ops.mean(errors * weights) / ops.mean(weights)


def mask_loss(mask, damaged, clean, recall_weight: float = 0.0):
    """Binary cross-entropy of a predicted paint mask against the pair's painted pixels,
    the painted pixels' terms weighted ``1 + recall_weight``.

    Without it the mask learns only through the blended image, where a half-open mask
    over a faint stroke costs little; a missed stroke pixel keeps its paint, and a false
    one trades an intact pixel for the network's guess. A missed one costs more (white
    paint against a filled guess), so ``recall_weight`` trades precision for recall.
    """
    target = ops.cast(painted(damaged, clean), "float32")
    mask = ops.clip(ops.cast(mask, "float32"), 1e-6, 1.0 - 1e-6)
    hit = (1.0 + recall_weight) * target * ops.log(mask)
    return -ops.mean(hit + (1.0 - target) * ops.log(1.0 - mask))


# skimage's structural_similarity defaults, which the scores use (``metrics``): a 7x7
# uniform window, sample covariance, K1 = 0.01, K2 = 0.03; images here span [0, 1].
SSIM_WINDOW = 7
_SSIM_C1, _SSIM_C2 = 0.01**2, 0.03**2


def ssim_loss(restored, clean):
    """1 - the mean SSIM of a batch, computed as the scores compute it.

    MSE and L1 weigh every pixel alike; SSIM, which the study reports, also weighs the
    structure around a stroke, where a blurred fill costs little MSE and much SSIM.
    """
    x, y = ops.cast(restored, "float32"), ops.cast(clean, "float32")

    def mean(image):
        return ops.average_pool(image, SSIM_WINDOW, strides=1, padding="valid")

    mean_x, mean_y = mean(x), mean(y)
    sample = SSIM_WINDOW**2 / (SSIM_WINDOW**2 - 1)
    var_x = sample * (mean(x * x) - mean_x * mean_x)
    var_y = sample * (mean(y * y) - mean_y * mean_y)
    cov = sample * (mean(x * y) - mean_x * mean_y)
    ssim = ((2 * mean_x * mean_y + _SSIM_C1) * (2 * cov + _SSIM_C2)) / (
        (mean_x * mean_x + mean_y * mean_y + _SSIM_C1) * (var_x + var_y + _SSIM_C2)
    )
    return 1.0 - ops.mean(ssim)


@dataclass(frozen=True)
class HeadLoss:
    """The head's loss terms and their weights (the ``BlendSettings`` of the same names).

    ``terms`` returns their weighted sum and each term's value in ``names`` order, which
    the trainer logs under those names (``trackers``).
    """

    damage_weight: float = 0.0
    mask_weight: float = 0.0
    mask_recall_weight: float = 0.0
    ssim_weight: float = 0.0

    @classmethod
    def of(cls, settings: Any) -> HeadLoss:
        """The head loss of a family's settings (any object with these fields)."""
        return cls(**{field.name: getattr(settings, field.name) for field in fields(cls)})

    @property
    def needs_mask(self) -> bool:
        """Whether the trainer must return the paint mask beside the restoration."""
        return bool(self.mask_weight)

    @property
    def names(self) -> tuple[str, ...]:
        """The logged names of the terms that are on, in ``terms`` order."""
        on = (("ssim_loss", self.ssim_weight), ("mask_bce", self.mask_weight))
        return tuple(name for name, weight in on if weight)

    def trackers(self) -> list[keras.metrics.Mean]:
        return [keras.metrics.Mean(name=name) for name in self.names]

    def pixel(self, errors, damaged, clean):
        """The family's per-pixel ``errors`` averaged with painted pixels weighted."""
        return pixel_loss(errors, damaged, clean, self.damage_weight)

    def terms(self, restored, mask, damaged, clean) -> tuple[Any, tuple]:
        """(weighted sum of the terms that are on, their values); ``mask`` None unless
        ``needs_mask``."""
        total, values = 0.0, []
        if self.ssim_weight:
            values.append(ssim_loss(restored, clean))
            total = total + self.ssim_weight * values[-1]
        if self.mask_weight:
            values.append(mask_loss(mask, damaged, clean, self.mask_recall_weight))
            total = total + self.mask_weight * values[-1]
        return total, tuple(values)
