"""Checks on a config that neither YAML nor the JSON schema make: where a file is broken,
values that are not numbers, and configs that only aliases make large.

Snakemake reports a broken YAML file without its name or line, and a schema error prints
the offending value whole; these checks come first so a message stays one readable line.
"""

from __future__ import annotations

import math
from pathlib import Path

import yaml

# Far above any real config (config.yaml has about 80 values), far below what a YAML
# alias bomb expands to.
MAX_VALUES = 10_000


def check_yaml_file(path: Path) -> None:
    """Raise ValueError naming ``path``, line and column when it is not valid YAML."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return  # Snakemake's own message names a missing config file
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot read the config file: {error}") from None
    try:
        yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ValueError(f"{path}{where}: not valid YAML: {error.problem or error}") from None
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: not valid YAML: {error}") from None


def check_values(config: dict, limit: int = MAX_VALUES) -> None:
    """Raise ValueError naming the key of a NaN or infinite number, or a config that is too big.

    JSON schema bounds such as ``exclusiveMinimum: 0`` let NaN through (every comparison
    with NaN is false), so a ``.nan`` would reach the code as if it were valid.
    """
    seen = 0
    pending: list[tuple[str, object]] = [("", config)]
    while pending:
        key, value = pending.pop()
        seen += 1
        if seen > limit:
            raise ValueError(
                f"(top level): more than {limit} values; does the file expand YAML aliases "
                "(&name, *name) over and over?"
            )
        if isinstance(value, dict):
            pending.extend((f"{key}.{k}" if key else str(k), v) for k, v in value.items())
        elif isinstance(value, list):
            pending.extend((f"{key}.{i}", v) for i, v in enumerate(value))
        elif isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{key}: {value} is not a finite number")
