"""What a figure was measured on: CPU, cores, memory, load, versions, commit, date."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from pathlib import Path

from restorebench.runtime.versions import installed_versions

REPO = Path(__file__).resolve().parents[1]
PACKAGES = (
    "tensorflow-cpu",
    "tensorflow",
    "keras",
    "snakemake",
    "numpy",
    "h5py",
    "PyQt6",
    "pyqtgraph",
    "scikit-image",
)


def _cpu_model() -> str:
    for line in (
        Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []
    ):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _cpu_flags() -> set[str]:
    for line in (
        Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []
    ):
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def _memory_gib() -> float | None:
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return None
    return round(pages * size / 2**30, 1)


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def describe() -> dict:
    flags = _cpu_flags()
    return {
        "cpu": _cpu_model(),
        "cores": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "memory_gib": _memory_gib(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "matrix_flags": {
            flag: flag in flags
            for flag in ("avx512f", "avx512_bf16", "amx_bf16", "amx_tile", "avx_vnni")
        },
        "gpu": "none (CPU only; see the GPU section)",
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": installed_versions(PACKAGES),
        "commit": _git("rev-parse", "--short", "HEAD"),
        "uncommitted_changes": bool(_git("status", "--porcelain")),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
