"""Row conditions such as ``gan.ssim < vae.ssim and vae.psnr > 20``.

A tiny parser rather than ``eval``: a condition typed in the window must never run
code, and a typo must say which word is wrong.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable

import numpy as np

Scores = dict[str, dict[str, np.ndarray]]
OPERATORS: dict[str, Callable] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}
CLAUSE = re.compile(r"^\s*(\S+?)\s*(<=|>=|==|!=|<|>)\s*(\S+)\s*$")
# Ready-made conditions offered in the window, as (label, condition).
PRESETS = (
    ("GAN SSIM below VAE SSIM", "gan.ssim < vae.ssim"),
    ("VAE SSIM below GAN SSIM", "vae.ssim < gan.ssim"),
    ("GAN worse than the damaged input (SSIM)", "gan.ssim < damaged.ssim"),
    ("VAE worse than the damaged input (SSIM)", "vae.ssim < damaged.ssim"),
    ("GAN PSNR below VAE PSNR", "gan.psnr < vae.psnr"),
)


def _operand(token: str, scores: Scores) -> np.ndarray | float:
    try:
        return float(token)
    except ValueError:
        pass
    model, dot, metric = token.lower().partition(".")
    if not dot:
        raise ValueError(f"'{token}' is neither a number nor model.metric (e.g. gan.ssim)")
    if model not in scores:
        raise ValueError(
            f"unknown model '{model}' in '{token}' (scored: {', '.join(scores) or 'none'})"
        )
    if metric not in scores[model]:
        raise ValueError(
            f"unknown metric '{metric}' in '{token}' (known: {', '.join(scores[model])})"
        )
    return scores[model][metric]


def evaluate(condition: str, scores: Scores, rows: int) -> np.ndarray:
    """Boolean mask over ``rows`` test images; 'and' binds tighter than 'or'.

    An empty condition keeps every row; a malformed one raises ValueError.
    """
    if not condition.strip():
        return np.ones(rows, dtype=bool)
    result = np.zeros(rows, dtype=bool)
    for alternative in re.split(r"\s+or\s+", condition.strip(), flags=re.IGNORECASE):
        mask = np.ones(rows, dtype=bool)
        for clause in re.split(r"\s+and\s+", alternative, flags=re.IGNORECASE):
            match = CLAUSE.match(clause)
            if not match:
                raise ValueError(
                    f"cannot read '{clause.strip()}': write e.g. 'gan.ssim < vae.ssim' or 'vae.psnr > 20'"
                )
            left, op, right = match.groups()
            mask &= np.broadcast_to(
                OPERATORS[op](_operand(left, scores), _operand(right, scores)), rows
            )
        result |= mask
    return result
