"""A workflow script ends when the Snakemake process that started it is gone.

Snakemake killed with ``kill -9`` (or by a lost terminal) cannot stop its jobs, and a
trainer left running keeps writing its state: after ``--rerun-incomplete`` two trainers
would share one. The Snakefile exports its own process id; each script watches it.
"""

from __future__ import annotations

import logging
import os
import threading

import psutil

log = logging.getLogger(__name__)
PARENT_VARIABLE = "RESTOREBENCH_SNAKEMAKE_PID"


def _alive(process: psutil.Process) -> bool:
    """Running, and still the same process (a reused pid has another start time), not a zombie."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def watch_parent(interval: float = 2.0, environ: dict | None = None) -> int | None:
    """Exit this process once the pid in ``RESTOREBENCH_SNAKEMAKE_PID`` has ended.

    Only an ancestor is watched: a value inherited from elsewhere (a cluster job's
    environment exported from the submitting host) names another machine's process.
    Returns the pid watched, or None.
    """
    value = (os.environ if environ is None else environ).get(PARENT_VARIABLE, "")
    if not value.isdigit():
        return None
    pid = int(value)
    try:
        if pid not in {parent.pid for parent in psutil.Process().parents()}:
            return None
        parent = psutil.Process(pid)
    except psutil.Error:
        return None

    def watch() -> None:
        while _alive(parent):
            threading.Event().wait(interval)
        log.error("Snakemake (pid %d) has ended: stopping this job", pid)
        logging.shutdown()
        os._exit(1)  # the trainer's state is written atomically: a stop at any point is safe

    threading.Thread(target=watch, name="watch-snakemake", daemon=True).start()
    return pid
