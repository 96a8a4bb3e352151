"""A panel's title as plain data, and what it scores; without Qt.

A title stays plain text until drawn (:func:`viewer.image_plot.title_lines` wraps and
escapes it), so any name shows literally: '<b>', '&', '$x^2$' as typed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from restorebench import contract
from viewer.scores import score_text, valid


@dataclass
class Title:
    """A panel title: the bold ``name``, an optional ``note`` after it, then ``items`` (one
    per score) wrapped to the panel's width; items listed in ``bad`` are red."""

    name: str
    note: str = ""
    items: list[str] = field(default_factory=list)
    bad: set[int] = field(default_factory=set)


def title_metrics(chosen: str) -> tuple[contract.Metric, ...]:
    """What a panel title scores: the whole-image metrics, and the table's metric when it
    scores a region (the title stays a line or two, whatever the spec's regions)."""
    whole = contract.metrics_in(contract.REGIONS[0])
    spec = contract.metric(chosen)
    return (*whole, spec) if spec.region in contract.REGIONS[1:] else whole


def score_item(title: Title, spec: contract.Metric, value: float) -> None:
    """Add '<label> <value>' to ``title``; a score its metric cannot take is red and marked
    '(impossible)'."""
    shown = f"{spec.label} {score_text(spec.name, value)}"
    if not valid(spec.name, value):
        title.bad.add(len(title.items))
        shown += " (impossible)"
    title.items.append(shown)


def score_title(name: str, scores: dict[str, float] | None, chosen: str) -> Title:
    """Panel title: the name and that image's scores of :func:`title_metrics`, wrapped to
    the panel."""
    if scores is None:
        return Title(name, items=["no scores"])
    title = Title(name)
    for spec in title_metrics(chosen):
        if spec.name in scores:
            score_item(title, spec, scores[spec.name])
    return title
