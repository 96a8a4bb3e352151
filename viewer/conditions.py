"""Row conditions such as ``gan.ssim < vae.ssim and vae.psnr > 20``.

A tiny parser rather than ``eval``: a condition typed in the window must never run
code, and a typo must say which word is wrong. Operands are numbers, ``model.metric``
(any metric of the spec, region scores included: ``gan.hole_psnr``) and, bare, a metric
that describes the image rather than a restoration (``mask_share >= 0.05``).
"""

from __future__ import annotations

import itertools
import operator
import re
from collections.abc import Callable

import numpy as np

from restorebench import contract
from viewer.scores import headline_metrics, label

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


def presets(
    models: list[str], input_model: str, scored: dict[str, set[str]] | None = None
) -> list[tuple[str, str]]:
    """Ready-made conditions as (text, condition): each of ``models`` worse than each other
    and than the damaged input, per headline metric (whole image and damaged pixels; the
    intact pixels' scores would make a long list of little use), "worse" read in the
    metric's direction. ``scored``: the metrics each model's file has, where it lacks some
    (an older run's); a metric either side lacks gets no preset."""
    scored = scored or {}
    pairs = [*itertools.permutations(models, 2), *((m, input_model) for m in models)]
    found = []
    for a, b in pairs:
        than = "the damaged input" if b == input_model else label(b)
        for metric in headline_metrics():
            if any(m in scored and metric.name not in scored[m] for m in (a, b)):
                continue
            op = ">" if metric.lower_is_better else "<"
            found.append(
                (
                    f"{label(a)} worse than {than} ({metric.label})",
                    f"{a}.{metric.name} {op} {b}.{metric.name}",
                )
            )
    return found


def image_properties() -> tuple[str, ...]:
    """The spec's metrics of the image itself (its damaged share), not of a restoration."""
    return tuple(spec.name for spec in contract.metrics_in(contract.MASK_SHARE.region))


def image_property(name: str, scores: Scores) -> np.ndarray | None:
    """Per-image values of ``name``, one of :func:`image_properties`: every model's file
    holds the same, so the first model's that has them (None when none has)."""
    return next((s[name] for s in scores.values() if name in s), None)


def _operand(token: str, scores: Scores) -> np.ndarray | float:
    try:
        return float(token)
    except ValueError:
        pass
    model, dot, metric = token.partition(".")
    if not dot:
        return _bare_operand(token, scores)
    # Case does not matter: a condition typed as GAN.SSIM means gan.ssim.
    model = {name.lower(): name for name in scores}.get(model.lower(), model.lower())
    metric = metric.lower()
    if model not in scores:
        raise ValueError(
            f"unknown model '{model}' in '{token}' (scored: {', '.join(scores) or 'none'})"
        )
    if metric not in scores[model] and _older(metric, scores[model]):
        raise ValueError(
            f"'{token}': {model} has no {metric} (its scores are an older run's, scored "
            "before the spec had it)"
        )
    if metric not in scores[model]:
        raise ValueError(
            f"unknown metric '{metric}' in '{token}' (known: {', '.join(scores[model])})"
        )
    return scores[model][metric]


def _older(metric: str, columns: dict[str, np.ndarray]) -> bool:
    """Whether a model's ``columns`` lack ``metric`` for being an older run's: a metric of
    the spec, or a mask score of a model that has mask scores."""
    masks = contract.mask_score_names()
    return metric in contract.metric_names() or (
        metric in masks and any(name in columns for name in masks)
    )


def _bare_operand(token: str, scores: Scores) -> np.ndarray:
    name = token.lower()
    if name not in image_properties():
        raise ValueError(
            f"'{token}' is neither a number nor model.metric (e.g. gan.ssim) nor a property "
            f"of the image ({', '.join(image_properties())})"
        )
    values = image_property(name, scores)
    if values is None:
        raise ValueError(f"'{token}': no model's scores hold it")
    return values


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
                    f"cannot read '{clause.strip()}': write e.g. 'gan.ssim < vae.ssim', "
                    "'vae.psnr > 20' or 'mask_share >= 0.05'"
                )
            left, op, right = match.groups()
            mask &= np.broadcast_to(
                OPERATORS[op](_operand(left, scores), _operand(right, scores)), rows
            )
        result |= mask
    return result
