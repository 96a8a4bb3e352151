"""What every model family declares, and its settings read from a config entry.

Settings are frozen dataclasses whose defaults are the family's defaults: the library
trains without Snakemake, and ``workflow/schemas/config.schema.yaml`` validates the same
keys (``tests/test_experiments.py`` checks that both agree).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from restorebench.models.head import Head, check_needs

if TYPE_CHECKING:
    import keras


@dataclass(frozen=True)
class CommonSettings:
    """The settings every family's training reads (batches, schedule, augmentation)."""

    epochs: int = 100
    batch_size: int = 64
    learning_rate: float = 1.0e-4
    flip: bool = True
    ema_momentum: float = 0.0  # the restorer keeps an average of its past weights; 0 = off
    redraw_damage: float = 0.0  # share of train pairs given fresh damage every epoch

    def check(self, key: str) -> None:
        """Rules on values, for callers without the schema; ``key`` is the entry's config key.

        Families extend it with their cross-key rules.
        """
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(
                    f"config key {key}.{name}: must be at least 1, got {getattr(self, name)}"
                )
        if not self.learning_rate > 0:
            raise ValueError(
                f"config key {key}.learning_rate: must be above 0, got {self.learning_rate}"
            )
        if not 0 <= self.redraw_damage <= 1:
            raise ValueError(
                f"config key {key}.redraw_damage: must be in [0, 1], got {self.redraw_damage}"
            )
        if not 0 <= self.ema_momentum < 1:
            raise ValueError(
                f"config key {key}.ema_momentum: must be in [0, 1), got {self.ema_momentum}"
            )


def ema_options(settings: CommonSettings) -> dict[str, Any]:
    """The restorer's optimizer arguments for ``ema_momentum``.

    The optimizer keeps the average beside the weights it trains and writes it over them
    when ``fit`` ends, so the saved and scored restorer is the average while training
    (and the per-epoch validation scores) runs on the raw weights.
    """
    if not settings.ema_momentum:
        return {}
    return {"use_ema": True, "ema_momentum": settings.ema_momentum}


# The loss term that needs the head's paint mask.
_MASK_NEEDS = (("mask_weight", "blend"),)


@dataclass(frozen=True)
class BlendSettings(CommonSettings):
    """The output head every U-Net family shares (``blocks.to_image``) and its loss terms."""

    input_skip: bool = True  # the damaged input joined at full size before the output
    blend: bool = True  # output = input + paint mask x (candidate - input)
    fill_prior: bool = False  # candidate = smooth fill of the unpainted pixels + a correction
    biharmonic_fill: bool = True  # that fill biharmonic (as the inpaint baselines'), not harmonic
    soft_blend: bool = False  # with fill_prior, blend through the soft mask (fill under the hard)
    damage_weight: float = 0.0  # extra loss weight of painted pixels
    mask_weight: float = 0.0  # weight of the paint mask's cross-entropy against the damage
    mask_recall_weight: float = 0.0  # extra weight of painted pixels in that cross-entropy
    ssim_weight: float = 0.0  # weight of 1 - SSIM (losses.ssim_loss) beside the pixel loss

    def check(self, key: str) -> None:
        super().check(key)
        Head.of(self).check(key)
        check_needs(key, vars(self), _MASK_NEEDS)
        for name in ("damage_weight", "mask_weight", "mask_recall_weight", "ssim_weight"):
            if getattr(self, name) < 0:
                raise ValueError(
                    f"config key {key}.{name}: must be at least 0, got {getattr(self, name)}"
                )


@dataclass(frozen=True)
class Family:
    """A model family: its settings and how to build, train and save it.

    ``build(image_size, settings, seed, jit_compile, key, steps_per_execution=1)`` returns
    the trainer that ``fit`` trains: compiled (``steps_per_execution`` passed to Keras'
    ``compile``), its weights and optimizer slots created (a resumed state loads into
    them), taking float32 or uint8 batches (``families.inputs``); ``key`` is the config
    entry, for error messages.
    ``restorer(trainer)`` is the damaged -> restored network saved as ``restorer.keras``.
    ``with_paint_mask(restorer)``, for families whose restorer blends through a paint mask
    (``blocks.to_image``), is that restorer with the mask as a second output (one pass),
    so the mask can be scored against the dataset's. ``with_given_mask(restorer)`` takes
    [damaged, 0/1 mask] and fills that mask instead (``blocks.with_given_mask``): the
    fill measured apart from the finding.
    """

    name: str
    settings: type[CommonSettings]
    build: Callable[..., keras.Model]
    restorer: Callable[[keras.Model], keras.Model]
    with_paint_mask: Callable[[keras.Model], keras.Model] | None = None
    with_given_mask: Callable[[keras.Model], keras.Model] | None = None


def _kind(value: Any) -> type:
    return float if isinstance(value, float) else type(value)


# The keys of a config entry that say what and where it trains, not how: not settings.
PLACEMENT_KEYS = ("family", "gpus")


def read_settings(cls: type[CommonSettings], entry: Mapping[str, Any], key: str) -> CommonSettings:
    """``cls`` from a config entry (``PLACEMENT_KEYS`` ignored), defaults filled in.

    Unknown keys and values of the wrong kind raise a ValueError naming ``key.<setting>``.
    """
    fields = {field.name: field for field in dataclasses.fields(cls)}
    values = {}
    for name, value in entry.items():
        if name in PLACEMENT_KEYS:
            continue
        if name not in fields:
            raise ValueError(
                f"config key {key}.{name}: unknown setting, expected one of {tuple(fields)}"
            )
        default = fields[name].default
        expected = _kind(default)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if expected is tuple and isinstance(value, list):
            value = tuple(value)
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise ValueError(
                f"config key {key}.{name}: expected {expected.__name__}, got {value!r}"
            )
        values[name] = value
    settings = cls(**values)
    settings.check(key)
    return settings
