"""Logging for the workflow's scripts: to the rule's log file and to the terminal."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path

from restorebench.watchdog import watch_parent

# A diverged loss (FloatingPointError) is a settings problem: its message names the key.
USER_ERRORS = (
    FileNotFoundError,
    NotADirectoryError,
    ValueError,
    PermissionError,
    FloatingPointError,
    BlockingIOError,  # another trainer holds the model's state
    ConnectionError,  # a download that cannot reach its server
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
    """Run a script body until it ends or Snakemake does.

    A user error ends it with its message instead of a traceback; any other error is
    logged with its traceback, so the rule's log file never comes out empty.
    """
    configure(log_path)
    watch_parent()
    log = logging.getLogger("restorebench")
    try:
        main()
    except USER_ERRORS as error:
        log.error("%s", error)
        sys.exit(1)
    except Exception:
        log.exception("unexpected error")
        sys.exit(1)
