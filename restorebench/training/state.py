"""A run's resumable state: after a kill, even a kill -9, training picks up after the last epoch.

Snakemake deletes an incomplete job's outputs before it reruns it, so the state lives
in a backup folder that is no rule output, keyed by a fingerprint of everything the run
depends on (the family, its settings, the options and the training images themselves):
a state from other data or settings is never resumed, and is deleted once a run starts
with a key of its own. A lock keeps a second trainer out of a folder in use.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import keras
import numpy as np

log = logging.getLogger(__name__)
LOCK_NAME = "lock"


def fingerprint(*parts) -> str:
    """Short digest of ``parts`` (JSON-able, or shown with ``str``)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:12]


def content_digest(names: list[str], *arrays: np.ndarray) -> str:
    """Digest of a split's names and pixels: a rebuilt dataset with other images gets another."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update("\n".join(names).encode())
    for array in arrays:
        digest.update(str((array.dtype, array.shape)).encode())
        digest.update(memoryview(np.ascontiguousarray(array)).cast("B"))
    return digest.hexdigest()


@contextlib.contextmanager
def locked(folder: Path, what: str) -> Iterator[None]:
    """Hold ``folder``'s lock while training; a second trainer is refused, never let in."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_NAME, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BlockingIOError(
                f"{what}: another training holds {folder / LOCK_NAME}; stop it "
                "(or wait for it) before starting this one"
            ) from None
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield


def discard_other_states(folder: Path, keep: str) -> None:
    """Delete the states of ``folder`` that are not ``keep``'s: they can never be resumed."""
    for other in sorted(Path(folder).iterdir()):
        if other.is_dir() and other.name != keep:
            log.info("discarded the saved state %s: it was made from other data or settings", other)
            shutil.rmtree(other, ignore_errors=True)


def _replace_text(path: Path, text: str) -> None:
    """Write ``path`` so a reader (or a killed writer) never leaves half a file."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    os.replace(partial, path)


class EpochState(keras.callbacks.Callback):
    """The run's state after each finished epoch, safe against a kill at any moment.

    Each epoch's weights (optimizer state included) go to a new file; ``state.json``,
    replaced atomically afterwards, names that file and carries the history rows. So
    the epoch count, the weights and the history always agree, and the history output
    is rebuilt from the state with each epoch exactly once.
    """

    def __init__(self, folder: Path, history: Path):
        super().__init__()
        self.folder, self.history = Path(folder), Path(history)
        self.rows: list[dict] = []

    def restore(self, trainer: keras.Model) -> int:
        """Load the last finished epoch's state into ``trainer``; returns how many epochs are done."""
        state_file = self.folder / "state.json"
        if not state_file.exists():
            return 0
        try:
            state = json.loads(state_file.read_text())
            trainer.load_weights(self.folder / state["weights"])
            rows = list(state["history"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            log.warning(
                "cannot resume from %s (%s): discarded, training from scratch", self.folder, error
            )
            shutil.rmtree(self.folder, ignore_errors=True)
            return 0
        self.rows = rows
        self._write_history()
        return len(self.rows)

    def on_epoch_end(self, epoch, logs=None):
        self.rows.append(
            {"epoch": epoch, **{key: float(value) for key, value in (logs or {}).items()}}
        )
        self.folder.mkdir(parents=True, exist_ok=True)
        weights = f"epoch{epoch + 1:04d}.weights.h5"
        self.model.save_weights(self.folder / f"partial-{weights}")
        os.replace(self.folder / f"partial-{weights}", self.folder / weights)
        _replace_text(
            self.folder / "state.json", json.dumps({"weights": weights, "history": self.rows})
        )
        for old in self.folder.glob("*.weights.h5"):
            if old.name != weights:
                old.unlink()
        self._write_history()

    def _write_history(self) -> None:
        columns = list(dict.fromkeys(key for row in self.rows for key in row))
        partial = self.history.with_name(self.history.name + ".partial")
        with open(partial, "w", newline="") as handle:
            writer = csv.DictWriter(handle, columns)
            writer.writeheader()
            writer.writerows(self.rows)
        os.replace(partial, self.history)
