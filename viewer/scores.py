"""How the viewer names models and checks and shows scores: one rule for every panel.

Ranges and formats come from the metric spec (``restorebench.contract``), so a value the
table refuses is one the plots and the summary box refuse too.
"""

from __future__ import annotations

import numpy as np

from restorebench import contract


def label(model: str) -> str:
    """Display name of a model: short names are acronyms (VAE, GAN), longer ones stay as named."""
    return model.upper() if len(model) <= 3 else model


def valid(metric: str, value: float | np.ndarray) -> bool | np.ndarray:
    """Whether ``value`` is a score ``metric`` can take: the viewer's one validity rule.

    The range comes from the metric spec (``Metric.low``/``high``, the rule of
    ``Metric.possible``): negative MSE, SSIM above 1 are not, and neither is NaN unless
    the score may be missing (``Metric.may_be_missing``). Works on a float (a bool back) or
    an array (a boolean array back, without a Python loop).
    """
    spec = contract.metric(metric)
    if np.ndim(value) == 0:
        return spec.possible(float(value))
    values = np.asarray(value, dtype=float)
    with np.errstate(invalid="ignore"):
        inside = (values >= spec.low) & (values <= spec.high)
    return inside | np.isnan(values) if spec.may_be_missing else inside


def score_text(metric: str, value: float) -> str:
    """``value`` in ``metric``'s format ('-' for a missing score)."""
    return contract.metric(metric).show(value)


def headline_metrics() -> tuple[contract.Metric, ...]:
    """The metrics a glance compares models on (the summary box, the preset conditions): the
    whole-image ones and the headline ones over the damaged pixels, not all regions."""
    hole = contract.REGIONS[1]
    damaged = (contract.metric(contract.region_metric(hole, m)) for m in contract.HEADLINE_METRICS)
    return (*contract.metrics_in(contract.REGIONS[0]), *damaged)


def possible_range(metric: str) -> str:
    spec = contract.metric(metric)
    return f"possible: {spec.low:g} to {spec.high:g}"


def why_impossible(metric: str, value: float) -> str | None:
    """'impossible value: MSE -3.0 (possible: 0 to inf)', or None for a valid value."""
    if valid(metric, value):
        return None
    return f"impossible value: {contract.metric(metric).label} {value} ({possible_range(metric)})"
