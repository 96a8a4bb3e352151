"""What made a run's outputs, as text: the model boxes' tooltips and *File → About this run*.

Qt-free, so the text is tested without a window. A record's one line is
:func:`restorebench.runtime.provenance.describe`'s (through :meth:`viewer.records.Record.line`);
this adds only the resolved settings and the package versions under it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from viewer.records import Record
from viewer.run_models import Model
from viewer.runfiles import Run
from viewer.scores import label

INDENT = "  "


def value_text(value: Any) -> str:
    """A setting as a YAML config spells it: text bare, a list in brackets ([mse, psnr]),
    the rest in JSON's spelling (true, null, 0.5)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return f"[{', '.join(value_text(item) for item in value)}]"
    return json.dumps(value)


def setting_lines(settings: Mapping[str, Any], prefix: str = "") -> list[str]:
    """'key: value' per setting, a nested one as 'damage.strokes: 3', so that every default
    the run used stands on its own line."""
    lines = []
    for key, value in settings.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            lines += setting_lines(value, f"{name}.")
        else:
            lines.append(f"{name}: {value_text(value)}")
    return lines


def record_lines(heading: str, record: Record) -> list[str]:
    """``heading`` and the record's line, then its settings and package versions, indented."""
    lines = [f"{heading}: {record.line()}"]
    entry = record.entry or {}
    settings, versions = entry.get("settings"), entry.get("versions")
    if isinstance(settings, Mapping):
        lines += [INDENT + line for line in setting_lines(settings)]
    if isinstance(versions, Mapping) and versions:
        packages = ", ".join(f"{package} {version}" for package, version in versions.items())
        lines.append(f"{INDENT}versions: {packages}")
    return lines


def model_tooltip(model: Model) -> str:
    """One line per stage of the model: a tooltip stays short, the settings are in the About text."""
    stages = [f"{stage}: {record.line()}" for stage, record in model.records.items()]
    return "\n".join(
        [
            f"{label(model.name)}: what made its outputs",
            *(stages or ["nothing yet (no model, predictions or scores on disk)"]),
            "File → About this run (Ctrl+I) lists the settings.",
        ]
    )


def run_text(run: Run) -> str:
    """Every record of the run: the dataset's, then each model's by stage, settings included."""
    lines = [f"Run {run.path}", "", *record_lines("dataset", run.dataset_record)]
    for name, model in run.models.items():
        if model.records:
            lines += ["", label(name)]
            for stage, record in model.records.items():
                lines += [INDENT + line for line in record_lines(stage, record)]
    return "\n".join(lines)
