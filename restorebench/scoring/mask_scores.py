"""A found damage mask scored against the true one (``contract.MASK_SCORES``).

Apart from :mod:`restorebench.data.masks` (which recovers the true masks when the dataset is
read) so that training, which reads the dataset, reaches no scoring code: editing a mask
score reruns the mask scores, not the models.
"""

from __future__ import annotations

import numpy as np

from restorebench import contract


def _confusion(found: np.ndarray, truth: np.ndarray) -> tuple[int, int, int]:
    hits = int(np.count_nonzero(found & truth))
    return hits, int(np.count_nonzero(found)) - hits, int(np.count_nonzero(truth)) - hits


def average_precision(scores: np.ndarray, truth: np.ndarray) -> float:
    """Area under the precision-recall steps over every threshold of uint8 ``scores``.

    The sum of precision x recall gained at each distinct score, from the highest down
    (the step rule of scikit-learn's ``average_precision_score``). NaN without damage.
    """
    positives = int(np.count_nonzero(truth))
    if positives == 0:
        return float("nan")
    levels = scores.astype(np.int64).ravel()
    # Pixels at or above each level, and the damaged ones among them: histograms, high to low.
    hits = np.cumsum(np.bincount(levels[truth.ravel()], minlength=256)[::-1])
    found = np.cumsum(np.bincount(levels, minlength=256)[::-1])
    gained = np.diff(hits, prepend=0) > 0
    precision = hits[gained] / found[gained]
    recall_gain = np.diff(hits, prepend=0)[gained] / positives
    return float((precision * recall_gain).sum())


def found_damage(predicted: np.ndarray) -> np.ndarray:
    """Where a uint8 found mask (0-255) says damage: above its middle, as the hard blend."""
    return predicted > 127


def mask_scores(predicted: np.ndarray, truth: np.ndarray) -> tuple[float, ...]:
    """``contract.MASK_SCORES`` of one uint8 (H, W) mask (0-255; above 127 is damage).

    Without any damage in ``truth``, recall and AP are undefined (NaN); IoU and F1 are 1
    when nothing was found either, 0 otherwise; precision is NaN when nothing was found.
    """
    found = found_damage(predicted)
    hits, false_alarms, misses = _confusion(found, truth)
    union = hits + false_alarms + misses
    nan = float("nan")
    iou = hits / union if union else 1.0
    f1 = 2 * hits / (2 * hits + false_alarms + misses) if union else 1.0
    precision = hits / (hits + false_alarms) if hits + false_alarms else nan
    recall = hits / (hits + misses) if hits + misses else nan
    return iou, f1, precision, recall, average_precision(predicted, truth)


def score_masks(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(N, len(contract.MASK_SCORES)) scores of a stack of found masks against the true ones."""
    if predicted.shape != truth.shape:
        raise ValueError(f"found masks {predicted.shape} and true masks {truth.shape} differ")
    rows = [mask_scores(found, true) for found, true in zip(predicted, truth)]
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), len(contract.MASK_SCORES))
