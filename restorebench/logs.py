"""Logging for the workflow's scripts: to the rule's log file and to the terminal."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path

# A diverged loss (FloatingPointError) is a settings problem: its message names the key.
USER_ERRORS = (
    FileNotFoundError,
    NotADirectoryError,
    ValueError,
    PermissionError,
    FloatingPointError,
)


def configure(log_path: str | Path | None, level: int = logging.INFO) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w"))
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )


def run_logged(log_path: str | Path | None, main: Callable[[], object]) -> None:
    """Run a script body; a user error ends it with its message instead of a traceback."""
    configure(log_path)
    try:
        main()
    except USER_ERRORS as error:
        logging.getLogger("restorebench").error("%s", error)
        sys.exit(1)
