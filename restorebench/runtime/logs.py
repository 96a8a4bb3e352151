"""Logging for the workflow's scripts: to the rule's log file and to the terminal."""

from __future__ import annotations

import fcntl
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from restorebench.runtime.watchdog import watch_parent

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


class LogInUse(RuntimeError):
    """Another live job writes this log: truncating it would erase that job's record."""


class _JobLog(logging.FileHandler):
    """The rule's log, held under a lock and put back if a second Snakemake deletes it.

    Snakemake deletes a job's log before it starts the job (``Job.remove_existing_output``),
    so a second Snakemake on the same run (``--nolock``) unlinks the running job's log
    before its own job can refuse. The lock is therefore on a sibling, ``<log>.lock``,
    which Snakemake never deletes, and the holder writes its log back when it is gone
    or replaced.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = path.with_name(path.name + ".lock")
        self._lock_fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise LogInUse(
                f"{path}: another job is running and writing this log (a second Snakemake "
                "on the same run folder, e.g. with --nolock); this job stops and leaves "
                f"that job's log alone (lock: {lock})"
            ) from None
        # Truncated only now that no live job writes it; "w+" to read it back when deleted.
        super().__init__(path, mode="w+", encoding="utf-8")

    def flush(self) -> None:
        with self.lock:
            super().flush()
            if self.stream is not None and not self._in_place():
                self._restore()

    def _in_place(self) -> bool:
        try:
            return os.path.samestat(os.stat(self.baseFilename), os.fstat(self.stream.fileno()))
        except FileNotFoundError:
            return False

    def _restore(self) -> None:
        """Put what this job logged so far back at its log's path.

        A file found there is no reason to stop: the second Snakemake touches an empty log
        once its refused job has failed, and the lock's holder is the only job of this log.
        """
        old = self.stream
        written = os.pread(old.fileno(), os.fstat(old.fileno()).st_size, 0)
        partial = self.baseFilename + ".partial"
        new = open(partial, "w+", encoding="utf-8")  # noqa: SIM115 (the handler's stream)
        new.write(written.decode("utf-8", errors="replace"))
        new.write(
            f"{self.baseFilename}: put back by the job writing it, after another job deleted "
            "or replaced it (a second Snakemake on the same run folder, e.g. with --nolock)\n"
        )
        new.flush()
        os.replace(partial, self.baseFilename)
        self.stream = new
        old.close()

    def close(self) -> None:
        super().close()
        if self._lock_fd >= 0:
            os.close(self._lock_fd)  # releases the lock
            self._lock_fd = -1


def configure(log_path: str | Path | None, level: int = logging.INFO) -> None:
    # Closed first: a handler still open on the same log would hold its lock against us.
    for handler in logging.root.handlers[:]:
        logging.root.removeHandler(handler)
        handler.close()
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        handlers.append(_JobLog(Path(log_path)))
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
    )


def run_logged(log_path: str | Path | None, main: Callable[[], object]) -> None:
    """Run a script body until it ends or Snakemake does.

    A user error ends it with its message instead of a traceback; any other error is
    logged with its traceback, so the rule's log file never comes out empty. A log that
    another live job writes is refused before it is opened, to the terminal only.
    """
    try:
        configure(log_path)
    except LogInUse as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
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
