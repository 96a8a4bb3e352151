"""The viewer's open and next-image times on a large synthetic run (a bench item's child).

    python -m bench.viewer_probe [RUN_PARENT [IMAGES [SIZE [RUNS [STEPS]]]]]

Defaults: /tmp/viewer-bench, 8,164 test images at 256 px, 3 runs, 200 steps. The run is
written once by bench.fakerun under RUN_PARENT and reused while it still fits. Runs
offscreen and prints one JSON object: the whole command (``python -m viewer
--screenshot``, process start to PNG), opening in process, and moving to the next image
with the default panels, in the difference view and with every panel ticked.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import h5py

from bench.fakerun import MODELS, make_fake_run
from restorebench import contract

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _fits(run: Path, images: int, size: int) -> bool:
    """Whether a run left by an earlier probe has this size and the current metric spec."""
    paths = contract.RunPaths(run.as_posix())
    header = ",".join(("name", *contract.metric_names()))
    try:
        with h5py.File(paths.dataset, "r") as file:
            if file["test/clean"].shape != (images, size, size, 3):
                return False
        if not Path(paths.summary).is_file():
            return False
        for model in MODELS:
            with open(paths.metrics(model)) as handle:
                if handle.readline().strip() != header:
                    return False
    except (OSError, KeyError):
        return False
    return True


def ensure_run(parent: Path, images: int, size: int) -> Path:
    run = parent / f"run_{images}x{size}"
    if not _fits(run, images, size):
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        make_fake_run(run, images, size, workers=cores)
    return run


def _median_ms(seconds: list[float]) -> float:
    return 1000 * statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parent", nargs="?", type=Path, default=Path("/tmp/viewer-bench"))
    parser.add_argument("images", nargs="?", type=int, default=8164)
    parser.add_argument("size", nargs="?", type=int, default=256)
    parser.add_argument("runs", nargs="?", type=int, default=3)
    parser.add_argument("steps", nargs="?", type=int, default=200)
    args = parser.parse_args()
    start = time.perf_counter()
    run = ensure_run(args.parent, args.images, args.size)
    generate = time.perf_counter() - start

    # The command a user types, from process start to the first image painted (PNG written).
    shot = args.parent / "screenshot.png"
    commands = []
    for _ in range(1 + args.runs):  # the first is the warm-up
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "viewer", str(run), "--screenshot", str(shot)],
            check=True,
            capture_output=True,
        )
        commands.append(time.perf_counter() - start)

    from PyQt6.QtWidgets import QApplication

    from viewer.window import ViewerWindow

    app = QApplication.instance() or QApplication([])
    opens = []
    for _ in range(1 + args.runs):
        start = time.perf_counter()
        window = ViewerWindow(run)
        window.show()
        app.processEvents()
        opens.append(time.perf_counter() - start)
        window.close()

    window = ViewerWindow(run)
    window.show()

    def steps() -> list[float]:
        """Seconds per next image, after one warm-up step."""
        window.go_to_row(0)
        app.processEvents()
        times = []
        for _ in range(args.steps):
            start = time.perf_counter()
            window.step(1)
            app.processEvents()
            times.append(time.perf_counter() - start)
        return times[1:]

    nexts = steps()
    window.set_diff_mode(True)
    diff_nexts = steps()
    window.set_diff_mode(False)
    for model in window.run.image_models():
        window.choose_model(model, True)
    every_nexts = steps()
    panels = len(window.panels.panels)
    window.close()
    print(
        json.dumps(
            {
                "images": args.images,
                "size": args.size,
                "generate_s": generate,
                "command_s": statistics.median(commands[1:]),
                "command_runs": commands[1:],
                "open_s": statistics.median(opens[1:]),
                "open_runs": opens[1:],
                "next_ms": _median_ms(nexts),
                "next_p95_ms": 1000 * sorted(nexts)[round(0.95 * (len(nexts) - 1))],
                "next_diff_ms": _median_ms(diff_nexts),
                "next_every_panel_ms": _median_ms(every_nexts),
                "every_panel": panels,
                "steps": args.steps,
            }
        )
    )


if __name__ == "__main__":
    main()
