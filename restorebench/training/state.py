"""A run's resumable state: after a kill, even a kill -9, training picks up after the last epoch.

Snakemake deletes an incomplete job's outputs before it reruns it, so the state lives
in a backup folder that is no rule output, keyed by a fingerprint of everything the run
depends on: a backup from other settings is never resumed.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from pathlib import Path

import keras


def fingerprint(*parts) -> str:
    """Short digest of ``parts`` (JSON-able, or shown with ``str``)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:12]


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
        state = json.loads(state_file.read_text())
        trainer.load_weights(self.folder / state["weights"])
        self.rows = state["history"]
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
