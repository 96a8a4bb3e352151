"""The options of the output head every U-Net family shares (``blocks.to_image``).

Kept apart from the Keras code, so settings can be read and checked (at workflow parse
time) without loading Keras.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

# Which option needs which other one on: a blend mixes with the input, which must reach
# the head; the fill prior fills under the blend's mask; a soft blend softens the fill
# prior's hard one.
HEAD_NEEDS = (("blend", "input_skip"), ("fill_prior", "blend"), ("soft_blend", "fill_prior"))


def check_needs(key: str, values: Mapping[str, Any], needs: tuple[tuple[str, str], ...]) -> None:
    """Refuse a setting that is on without the one it needs, naming both config keys."""
    for name, needed in needs:
        if values.get(name) and not values[needed]:
            raise ValueError(f"config key {key}.{name}: needs {key}.{needed}: true")


@dataclass(frozen=True)
class Head:
    """How ``to_image`` builds a network's output (the family settings of the same names).

    Passed whole, so a new head option is a field here and a setting, not an argument
    threaded through every family's builder.
    """

    input_skip: bool = False
    blend: bool = False
    fill_prior: bool = False
    biharmonic_fill: bool = True
    soft_blend: bool = False

    @classmethod
    def of(cls, settings: Any) -> Head:
        """The head of a family's settings (any object with these fields)."""
        return cls(**{field.name: getattr(settings, field.name) for field in fields(cls)})

    def check(self, key: str) -> None:
        check_needs(key, vars(self), HEAD_NEEDS)
