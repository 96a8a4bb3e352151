"""Each output's provenance record as the viewer reads it, beside the output itself.

An output made before records has none, and a broken record is a problem to report,
never a reason to drop the output (:mod:`restorebench.runtime.provenance`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py

from restorebench.runtime import provenance


@dataclass(frozen=True)
class Record:
    """What made one output. ``entry`` is None both for an output made before records
    and for a broken record; ``broken`` then says why (the problems say it too)."""

    entry: dict[str, Any] | None = None
    broken: str | None = None

    def line(self) -> str:
        """The release and the code digest, 'not recorded' or why the record is unreadable."""
        return (
            f"unreadable record: {self.broken}" if self.broken else provenance.describe(self.entry)
        )


def sidecar_record(output: Path | str, sidecar: Path | str) -> tuple[Record | None, str | None]:
    """(record, problem) of the JSON file beside ``output``; (None, None) when the output
    is absent, since then there is nothing the record could describe."""
    if not Path(output).is_file():
        return None, None
    try:
        return Record(provenance.read(Path(sidecar))), None
    except (OSError, ValueError) as error:
        return Record(broken=str(error)), str(error)


def attribute_record(file: h5py.File, rel: Path | str) -> tuple[Record, str | None]:
    """(record, problem) of an HDF5 file's root attribute (JSON text)."""
    try:
        return Record(provenance.decode(file.attrs.get(provenance.ATTRIBUTE))), None
    except (OSError, TypeError, ValueError) as error:
        message = (
            f"{rel}: its '{provenance.ATTRIBUTE}' attribute is not a provenance record "
            f"({error}); the file itself is still shown"
        )
        return Record(broken=message), message
