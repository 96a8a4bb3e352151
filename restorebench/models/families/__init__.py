"""The registry of model families: a family is one module, registered here by name.

A trained model in the config is an entry ``models.<name>`` with a ``family`` and that
family's settings. This package stays free of Keras so the workflow can read it when it
parses; :func:`load` imports a family's module (and Keras with it) only when training.
Explicit entries, not a scan of the folder: a stray file never becomes a family.
"""

from __future__ import annotations

import importlib

from restorebench.models.families.base import PLACEMENT_KEYS, Family

__all__ = ["PLACEMENT_KEYS", "Family", "load", "names"]

# name -> module defining ``FAMILY``. Adding a family: its module and one line here.
FAMILY_MODULES = {
    "vae": "restorebench.models.families.vae",
    "gan": "restorebench.models.families.gan",
    "diffusion": "restorebench.models.families.diffusion",
}


def names() -> tuple[str, ...]:
    return tuple(FAMILY_MODULES)


def load(name: str) -> Family:
    """The family called ``name``; a ValueError lists the registered ones."""
    if name not in FAMILY_MODULES:
        raise ValueError(f"unknown model family '{name}', expected one of {names()}")
    family = importlib.import_module(FAMILY_MODULES[name]).FAMILY
    if family.name != name:
        raise RuntimeError(f"{FAMILY_MODULES[name]} registers '{family.name}', not '{name}'")
    return family
