"""``python -m viewer`` as a user runs it: errors on the command line, no TensorFlow,
screenshots offscreen and under a real X server (Xvfb)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from system_packages import apt_install
from viewer_fixtures import (
    HANG_S,
    REPO,
    empty_test_split,
    screenshot_loading_none,
    set_scores,
    small_run,
)


@pytest.fixture
def fake_run(tmp_path):
    return small_run(tmp_path)


def viewer(
    *args: str, env: dict | None = None, timeout: int = HANG_S
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "viewer", *args],
        cwd=REPO,
        env=env or os.environ.copy(),
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


def assert_not_blank(png: Path) -> None:
    image = np.asarray(Image.open(png).convert("RGB"))
    assert image.shape[0] >= 400 and image.shape[1] >= 600
    assert image.std() > 10 and len(np.unique(image.reshape(-1, 3), axis=0)) > 100


def test_not_a_run_directory_is_a_command_line_error(tmp_path):
    result = viewer(str(tmp_path / "missing"))
    assert result.returncode == 2 and "missing: not a directory" in result.stderr
    result = viewer(str(tmp_path))
    assert result.returncode == 2 and "is not a run directory: no dataset.h5" in result.stderr


def test_index_out_of_range(fake_run):
    result = viewer(str(fake_run), "--screenshot", "x.png", "--index", "99")
    assert (
        result.returncode == 2
        and "--index 99 is out of range: the run has 12 test images" in result.stderr
    )


def test_models_the_run_lacks_are_a_command_line_error(fake_run, tmp_path):
    result = viewer(str(fake_run), "--screenshot", "x.png", "--models", "vae,vea")
    assert result.returncode == 2
    assert "--models: the run has no model 'vea' (available: vae, gan, inpaint)" in result.stderr
    # Only unknown names: every one is named, with the models the run has; no window opens.
    out = tmp_path / "never.png"
    result = viewer(str(fake_run), "--screenshot", str(out), "--models", "foo,bar")
    assert result.returncode == 2 and not out.exists()
    assert (
        "--models: the run has no model 'foo', 'bar' (available: vae, gan, inpaint)"
        in result.stderr
    )
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("damage", ["empty test split", "truncated"])
def test_a_dataset_that_cannot_be_shown_is_a_one_line_error(fake_run, tmp_path, damage):
    """No traceback and no usage text: one line naming dataset.h5 and the reason, exit 2."""
    dataset = fake_run / "dataset.h5"
    if damage == "truncated":
        dataset.write_bytes(dataset.read_bytes()[:1000])
        reason = "dataset.h5: cannot be read as HDF5"
    else:
        empty_test_split(fake_run)
        reason = "dataset.h5: the test split is empty"
    out = tmp_path / "shot.png"
    for args in (["--screenshot", str(out)], []):  # without --screenshot no window opens either
        result = viewer(str(fake_run), *args)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1, result.stderr
        assert lines[0].startswith(f"error: {dataset}") and reason in lines[0]
    assert not out.exists()


def test_screenshot_prints_the_problems_it_shows(fake_run, tmp_path):
    set_scores(fake_run, "vae", {(0, "mse"): "-3", (1, "ssim"): "1.5"})
    out = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = viewer(str(fake_run), "--screenshot", str(out), env=env)
    assert result.returncode == 0 and out.is_file(), result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert any("metrics/vae.csv: 1 impossible MSE value(s)" in w for w in warnings)
    assert any("metrics/vae.csv: 1 impossible SSIM value(s)" in w for w in warnings)


# The viewer reads files only: none of the workflow's heavy or training code may load.
FORBIDDEN = (
    "tensorflow",
    "keras",
    "skimage",
    "snakemake",
    "restorebench.training",
    "restorebench.models.families",
    "restorebench.restore.inference",
)


def test_viewer_never_imports_the_training_stack(fake_run, tmp_path):
    """``python -m viewer --screenshot`` end to end in a fresh interpreter, then its modules."""
    screenshot_loading_none(
        fake_run,
        tmp_path / "shot.png",
        f"m.split('.')[0] in {FORBIDDEN!r} or any(m == f or m.startswith(f + '.') for f in {FORBIDDEN!r})",
    )


def test_screenshot_offscreen(fake_run, tmp_path):
    out = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = viewer(str(fake_run), "--screenshot", str(out), "--index", "3", "--diff", env=env)
    assert result.returncode == 0, result.stderr
    assert_not_blank(out)


def _free_display() -> int:
    for number in range(90, 200):
        if (
            not Path(f"/tmp/.X{number}-lock").exists()
            and not Path(f"/tmp/.X11-unix/X{number}").exists()
        ):
            return number
    raise RuntimeError("no free X display number between :90 and :199")


def _missing_xcb_packages() -> list[str]:
    """Debian packages of the libraries PyQt6's xcb platform plugin lacks (libxcb-cursor0, ...).

    Found with ldd rather than guessed, and named by Debian's rule: libfoo.so.4 is in
    libfoo4, libfoo-x11.so.0 in libfoo-x11-0.
    """
    from PyQt6.QtCore import QLibraryInfo

    plugins = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath))
    libraries = [plugins / "platforms" / "libqxcb.so", *plugins.parent.glob("lib/libQt6XcbQpa.so*")]
    packages = set()
    for library in libraries:
        result = subprocess.run(["ldd", str(library)], capture_output=True, text=True, check=False)
        for line in result.stdout.splitlines():
            if "not found" in line:
                name, _, version = line.split()[0].partition(".so.")
                packages.add(f"{name}{'-' if name[-1].isdigit() else ''}{version}")
    return sorted(packages)


@pytest.fixture
def xvfb_display():
    """A fresh Xvfb server on a free display number, stopped afterwards."""
    if not shutil.which("Xvfb") and (why := apt_install("xvfb")):
        pytest.skip(f"Xvfb unavailable: {why}")
    missing = _missing_xcb_packages()
    if missing and (why := apt_install(*missing)):
        pytest.skip(f"libraries for Qt's xcb plugin unavailable: {why}")
    number = _free_display()
    server = subprocess.Popen(
        ["Xvfb", f":{number}", "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while not Path(f"/tmp/.X11-unix/X{number}").exists():
            if server.poll() is not None:
                pytest.fail(f"Xvfb :{number} exited: {server.stderr.read().decode()[-500:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"Xvfb :{number} did not start within 20 s")
            time.sleep(0.1)
        yield f":{number}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_screenshot_under_xvfb(fake_run, tmp_path, xvfb_display):
    out = tmp_path / "xvfb.png"
    env = {**os.environ, "DISPLAY": xvfb_display, "QT_QPA_PLATFORM": "xcb"}
    result = viewer(str(fake_run), "--screenshot", str(out), "--models", "vae,gan,inpaint", env=env)
    assert result.returncode == 0, result.stderr
    assert_not_blank(out)


def _divider_columns(image: np.ndarray) -> list[int]:
    """Columns of the swipe's divider: black outline columns over the middle rows."""
    rows = image[image.shape[0] // 4 : 3 * image.shape[0] // 4].astype(int)
    black = (rows.sum(axis=2) == 0).mean(axis=0)
    return [int(x) for x in np.flatnonzero(black > 0.95)]


def test_screenshot_of_a_swipe_at_half(fake_run, tmp_path):
    """--compare A,B renders the swipe, its divider in the middle of the image, at 1280x720."""
    out = tmp_path / "swipe.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    args = ["--screenshot", str(out), "--size", "1280x720", "--compare", "gan,clean"]
    result = viewer(str(fake_run), *args, "--compare-mode", "swipe", env=env)
    assert result.returncode == 0, result.stderr
    assert_not_blank(out)
    image = np.asarray(Image.open(out).convert("RGB"))
    assert image.shape[:2] == (720, 1280)
    divider = _divider_columns(image[:, : image.shape[1] * 6 // 10])
    assert len(divider) == 2 and divider[1] - divider[0] <= 4, divider
    # The image: the colourful columns of the left pane; the divider halves it.
    rows = image[180:600, : image.shape[1] * 6 // 10].astype(int)
    colourful = np.flatnonzero(((rows.max(axis=2) - rows.min(axis=2)) > 30).mean(axis=0) > 0.5)
    middle = (colourful.min() + colourful.max() + 1) / 2
    assert abs(np.mean(divider) - middle) <= 3, (divider, colourful.min(), colourful.max())
    # A flicker shows no divider; a baseline without a panel gets one to be compared.
    out = tmp_path / "flicker.png"
    args = ["--screenshot", str(out), "--compare", "inpaint,gan", "--compare-mode", "flicker"]
    result = viewer(str(fake_run), *args, env=env)
    assert result.returncode == 0, result.stderr
    assert_not_blank(out)
    assert _divider_columns(np.asarray(Image.open(out).convert("RGB"))) == []


def test_compare_names_the_run_lacks_are_a_command_line_error(fake_run, tmp_path):
    out = tmp_path / "never.png"
    cases = [
        (
            ["--compare", "gan,foo"],
            "--compare: the run has no panel 'foo' (available: damaged, clean, vae, gan, inpaint)",
        ),
        (["--compare", "gan"], "--compare: give two panels as A,B (e.g. gan,clean), got 'gan'"),
        (["--compare", "gan,gan"], "--compare: A and B are the same panel ('gan')"),
        (["--compare-mode", "swipe"], "--compare-mode needs --compare A,B"),
        (["--compare", "gan,clean", "--compare-mode", "blink"], "invalid choice: 'blink'"),
    ]
    for args, message in cases:
        result = viewer(str(fake_run), "--screenshot", str(out), *args)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr and not out.exists()
