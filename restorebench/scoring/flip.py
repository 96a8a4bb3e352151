"""FLIP, NVIDIA's perceptual difference of alternating images (Andersson et al., 2020).

The LDR mean FLIP of NVIDIA's own implementation (the ``flip-evaluator`` package), at its
default viewing condition: 67 pixels per degree, a 0.7 m wide 3840 px monitor seen from
0.7 m. It models what an observer flipping between the two images would notice (colour and
edge differences, filtered by the eye's contrast sensitivity), pixel by pixel in [0, 1];
the mean of that map is the score: 0 for identical images, 1 the largest difference.
"""

from __future__ import annotations

import flip_evaluator
import numpy as np

# The pixels per degree of FLIP's default viewing condition, stated so that a change of the
# package's default cannot change our scores.
PPD = 67.02064514160156


def mean_flip(truth: np.ndarray, test: np.ndarray) -> float:
    """The mean LDR FLIP of two (H, W, 3) sRGB images with values in [0, 1] (clipped there)."""

    def unit(image: np.ndarray) -> np.ndarray:
        return np.clip(image, 0.0, 1.0).astype(np.float32)

    _, mean, _ = flip_evaluator.evaluate(
        unit(truth), unit(test), "LDR", applyMagma=False, parameters={"ppd": PPD}
    )
    return float(mean)
