"""The cells every BENCHMARKS.md table is written with: numbers, scores, targets, errors."""

from __future__ import annotations

from restorebench import contract


def number(value, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def score_header() -> tuple[str, str]:
    """The metric columns of a score table, from the metric spec."""
    labels = [m.label for m in contract.metrics_in(contract.IMAGE)]
    return " | ".join(labels), "|---" * len(labels)


def score_cells(means: dict) -> str:
    """One model's mean of each spec metric, in the spec's format ('-' where not scored)."""
    return " | ".join(
        m.show(means[m.name]) if means.get(m.name) is not None else "-"
        for m in contract.metrics_in(contract.IMAGE)
    )


def met(value, target, lower_is_better: bool = True) -> str:
    if value is None:
        return "not measured"
    ok = value <= target if lower_is_better else value >= target
    return "**met**" if ok else "**not met**"


def error_line(item) -> str | None:
    if item is None:
        return "not run (left out with --only)"
    if isinstance(item, dict) and "error" in item:
        return f"failed: `{item['error'].splitlines()[0][:300]}`"
    return None
