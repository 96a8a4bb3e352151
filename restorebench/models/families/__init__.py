"""The registry of model families: a family is one module, registered here by name.

A trained model in the config is an entry ``models.<name>`` with a ``family`` and that
family's settings. This package stays free of Keras so the workflow can read it when it
parses; :func:`load` imports a family's module (and Keras with it) only when training.
Explicit entries, not a scan of the folder: a stray file never becomes a family.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from restorebench.models.families.base import PLACEMENT_KEYS, BlendSettings, Family

__all__ = ["FAMILIES", "PLACEMENT_KEYS", "Family", "finds_mask", "load", "names"]


@dataclass(frozen=True)
class Registered:
    """What the workflow knows of a family before Keras loads: its module (defining
    ``FAMILY``) and whether its restorer can return the paint mask it blends through
    (``Family.with_paint_mask``); ``load`` checks the second against the module."""

    module: str
    paint_mask: bool = True


# Adding a family: its module and one line here.
FAMILIES = {
    "vae": Registered("restorebench.models.families.vae"),
    "gan": Registered("restorebench.models.families.gan"),
    "diffusion": Registered("restorebench.models.families.diffusion"),
}


def names() -> tuple[str, ...]:
    return tuple(FAMILIES)


def finds_mask(entry: Mapping[str, Any]) -> bool:
    """Whether the model of a config entry finds the damage itself and can store the mask
    it found: its family returns one, and the entry blends (``blend``, on by default)."""
    return FAMILIES[entry["family"]].paint_mask and entry.get("blend", BlendSettings.blend)


def load(name: str) -> Family:
    """The family called ``name``; a ValueError lists the registered ones."""
    if name not in FAMILIES:
        raise ValueError(f"unknown model family '{name}', expected one of {names()}")
    registered = FAMILIES[name]
    family = importlib.import_module(registered.module).FAMILY
    if family.name != name:
        raise RuntimeError(f"{registered.module} registers '{family.name}', not '{name}'")
    if (family.with_paint_mask is not None) != registered.paint_mask:
        raise RuntimeError(
            f"{registered.module}: with_paint_mask does not match the registry's paint_mask "
            f"({registered.paint_mask}) for '{name}'"
        )
    return family
