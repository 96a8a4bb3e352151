"""What each panel shows of one test image, without Qt: its image (or why it has none),
its title (scores, and in the found overlay which mask it shows) and its mask overlay.

A file that cannot be read is a problem message returned beside what could be read,
never an exception: the window puts it in its banner.
"""

from __future__ import annotations

import numpy as np

from restorebench import contract
from viewer.overlay import FOUND, TITLE_NOTES, TRUE, Overlay, mask_kind
from viewer.runfiles import CLEAN, DAMAGED, INPUT_MODEL, Run
from viewer.scores import label
from viewer.titles import Title, score_item, score_title


def image_scores(run: Run, model: str, index: int) -> dict[str, float] | None:
    """``model``'s scores of image ``index`` (None: it has none)."""
    scores = run.models[model].scores if model in run.models else None
    if scores is None:
        return None
    return {metric: float(values[index]) for metric, values in scores.items()}


def read_images(
    run: Run, keys: list[str], index: int
) -> tuple[dict[str, np.ndarray | None], dict[str, str], list[str]]:
    """Each panel's image ``index``, why a panel has none, and the problems met."""
    images, notes, problems = {}, {}, []
    for key in keys:
        try:
            images[key] = run.image(key, index)
        except OSError as error:
            images[key] = None
            name = run.names[index]
            problems.append(f"{key}: image {index} ('{name}') cannot be read ({error})")
        if images[key] is None:
            model = run.models.get(INPUT_MODEL if key == DAMAGED else key)
            reason = "; ".join(model.missing) if model and model.missing else "cannot be read"
            notes[key] = f"not available\n({reason})"
    return images, notes, problems


def panel_titles(
    run: Run,
    keys: list[str],
    index: int,
    images: dict[str, np.ndarray | None],
    mask_share: np.ndarray | None,
    metric: str,
    mask_mode: str,
) -> dict[str, Title]:
    """Each panel's title for image ``index``: the reference's name, index and damaged
    share, the others' scores of ``metric``'s title, and in the found overlay which mask
    each shows."""
    titles = {}
    for key in keys:
        if images.get(key) is None:
            titles[key] = Title(label(key), "— not available")
            continue
        if key == CLEAN:
            titles[key] = Title("clean", "(reference)", [run.names[index], f"#{index}"])
            if mask_share is not None:
                score_item(titles[key], contract.MASK_SHARE, float(mask_share[index]))
        else:
            name = "damaged input" if key == DAMAGED else label(key)
            scores = image_scores(run, INPUT_MODEL if key == DAMAGED else key, index)
            titles[key] = score_title(name, scores, metric)
        if mask_mode == FOUND:
            _note_found_mask(run, titles[key], key, index)
    return titles


def _note_found_mask(run: Run, title: Title, key: str, index: int) -> None:
    """Say which mask the panel shows (or that its model found none), and how well a
    model's found mask matches the damage (its first mask score) where the run has it."""
    kind = mask_kind(FOUND, key, run.has_found_mask(key))
    title.note = f"{title.note} {TITLE_NOTES[kind]}".strip()
    scores = run.models[key].mask_scores if kind == FOUND else None
    spec = contract.MASK_SCORES[0]
    if scores is not None and spec.name in scores:  # an older run's file may lack it
        score_item(title, spec, float(scores[spec.name][index]))


def panel_overlays(
    run: Run, keys: list[str], index: int, mode: str
) -> tuple[dict[str, Overlay], list[str]]:
    """Each panel's mask overlay of image ``index`` in overlay ``mode`` (none when off), and
    the problems met: a mask that cannot be read is named and left out."""
    overlays: dict[str, Overlay] = {}
    problems = []
    truth: Overlay | None = None
    for key in keys:
        kind = mask_kind(mode, key, run.has_found_mask(key))
        try:
            if kind == TRUE:
                truth = truth or Overlay.of_true(run.true_mask(index))
                overlays[key] = truth
            elif kind == FOUND:
                overlays[key] = Overlay(run.found_mask(key, index), FOUND)
        except OSError as error:
            owner = "dataset.h5" if kind == TRUE else label(key)
            problems.append(f"{owner}: the mask of image {index} cannot be read ({error})")
    return overlays, problems
