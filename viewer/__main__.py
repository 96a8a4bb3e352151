"""``python -m viewer RUN_DIR``: open the viewer, or render one screenshot and exit.

A run that cannot be shown (no directory, no or an unreadable ``dataset.h5``, an empty
test split) ends with one line, ``error: <file>: <reason>``, and exit status 2, before
any window; a wrong option gets argparse's usage and error. A screenshot of a run with
problems prints each as ``warning: ...`` (the window's banner says the same).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import NoReturn

from viewer.compare import FLICKER, SWIPE, parse_pair
from viewer.overlay import MODES as MASK_MODES
from viewer.overlay import OFF as MASK_OFF
from viewer.runfiles import FIXED_PANELS, Run, RunError


def fail(message: str) -> NoReturn:
    """One line on stderr, exit status 2: the run cannot be shown at all."""
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    sys.exit(2)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m viewer",
        description="Browse the damaged, clean and restored images of a restorebench run with "
        "their scores.",
    )
    parser.add_argument("run", type=Path, help="run directory, e.g. results/demo")
    parser.add_argument(
        "--screenshot", type=Path, metavar="PATH", help="render the window to a PNG and exit"
    )
    parser.add_argument(
        "--index", type=int, default=0, help="test image to show first (dataset order)"
    )
    parser.add_argument(
        "--models",
        help="comma-separated model panels to show (default: every trained model of the run)",
    )
    parser.add_argument("--diff", action="store_true", help="start in the difference view")
    parser.add_argument(
        "--compare",
        metavar="A,B",
        help="compare two panels in the large view, e.g. gan,clean (damaged, clean or a model; "
        "a model without a panel gets one); the swipe's divider at 50 %%",
    )
    parser.add_argument(
        "--compare-mode",
        choices=(SWIPE, FLICKER),
        help="how --compare compares (default swipe; a flicker screenshot shows A)",
    )
    parser.add_argument(
        "--mask",
        choices=MASK_MODES,
        default=MASK_OFF,
        help="damage mask overlay: the dataset's (true) or each model's own (found); default off",
    )
    parser.add_argument("--size", default="1500x900", help="window size WxH (default 1500x900)")
    args = parser.parse_args(argv)
    # Fail on the command line, before any window, when the path is not a run.
    args.models = args.models.split(",") if args.models else None
    try:
        with Run(args.run) as run:
            count = run.size
            unknown = run.unknown_models(args.models) if args.models else None
            panels = [*FIXED_PANELS, *run.image_models()]
    except RunError as error:
        fail(str(error))
    if unknown:
        parser.error(f"--models: {unknown}")
    if args.compare is not None:
        try:
            args.compare = parse_pair(args.compare, panels)
        except ValueError as error:
            parser.error(f"--compare: {error}")
    if args.compare_mode and args.compare is None:
        parser.error("--compare-mode needs --compare A,B")
    if args.compare and not args.compare_mode:
        args.compare_mode = SWIPE
    if not 0 <= args.index < max(count, 1):
        parser.error(f"--index {args.index} is out of range: the run has {count} test images")
    try:
        args.size = tuple(int(v) for v in args.size.lower().split("x"))
        if len(args.size) != 2:
            raise ValueError
    except ValueError:
        parser.error(f"--size must look like 1500x900, got '{args.size}'")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    headless = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if args.screenshot and headless:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PyQt6.QtWidgets import QApplication

    from viewer.window import ViewerWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = ViewerWindow(args.run, models=args.models)
    window.resize(*args.size)
    window.show_index(args.index)
    window.set_diff_mode(args.diff)
    window.set_mask_mode(args.mask)
    if args.compare:
        window.set_compare_pair(*args.compare)
        window.set_divider(0.5)
        window.set_compare_mode(args.compare_mode)
    window.show()
    if args.screenshot:
        app.processEvents()
        if not window.grab().save(str(args.screenshot), "PNG"):
            print(f"error: cannot write {args.screenshot}", file=sys.stderr)
            return 1
        for problem in window.problems:
            print(f"warning: {' '.join(problem.split())}", file=sys.stderr)
        print(args.screenshot)
        # The run became unreadable after the check above: the PNG shows only the message.
        return 0 if window.run is not None else 1
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
