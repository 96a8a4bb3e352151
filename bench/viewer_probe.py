"""Child process: the viewer's open and next-image times on a large synthetic run.

    python -m bench.viewer_probe RUN_PARENT IMAGES SIZE RUNS STEPS

Reuses ``scripts/bench_viewer.py``'s run generation (``restorebench.fakerun``),
offscreen. Prints one JSON object.
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench_viewer.py"


def _bench_viewer():
    spec = importlib.util.spec_from_file_location("bench_viewer", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parent, images, size, runs, steps = Path(sys.argv[1]), *map(int, sys.argv[2:6])
    start = time.perf_counter()
    run = _bench_viewer().ensure_run(parent, images, size)
    generate = time.perf_counter() - start

    # The command a user types, from process start to the first image painted (PNG written).
    shot = parent / "screenshot.png"
    commands = []
    for _ in range(1 + runs):  # the first is the warm-up
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
    for _ in range(1 + runs):
        start = time.perf_counter()
        window = ViewerWindow(run)
        window.show()
        app.processEvents()
        opens.append(time.perf_counter() - start)
        window.close()
    window = ViewerWindow(run)
    window.show()
    window.go_to_row(0)
    app.processEvents()
    nexts = []
    for _ in range(steps):
        start = time.perf_counter()
        window.step(1)
        app.processEvents()
        nexts.append(time.perf_counter() - start)
    window.close()
    print(
        json.dumps(
            {
                "images": images,
                "size": size,
                "generate_s": generate,
                "command_s": statistics.median(commands[1:]),
                "command_runs": commands[1:],
                "open_s": statistics.median(opens[1:]),
                "open_runs": opens[1:],
                "next_ms": 1000 * statistics.median(nexts[1:]),
                "next_p95_ms": 1000 * sorted(nexts)[round(0.95 * (len(nexts) - 1))],
                "steps": steps,
            }
        )
    )


if __name__ == "__main__":
    main()
