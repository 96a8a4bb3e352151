"""Which GPUs a job may use: claimed before any framework starts, held until it exits.

Snakemake counts a ``gpu`` resource but assigns no device ids, and TensorFlow or JAX take
every GPU they see: two trainings started with ``--resources gpu=2`` would both spread
over both cards. So each job claims as many ids as its resource says, from those visible
to the workflow (``CUDA_VISIBLE_DEVICES``, else what ``nvidia-smi`` lists), with one
lock file per id; the kernel releases a lock when its process ends, however it ends, so
no slot outlives its job. Under SLURM the job's allocation already is its devices (SLURM
exports them in ``CUDA_VISIBLE_DEVICES``) and nothing is locked: jobs on other nodes see
the same ids for other cards.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

log = logging.getLogger("restorebench.runtime.devices")

VISIBLE = "CUDA_VISIBLE_DEVICES"
# Where local jobs keep their device locks: beside Snakemake's own state in the run folder.
SLOTS = Path(".snakemake") / "gpu-slots"


def visible_gpus(environ: Mapping[str, str] = os.environ) -> list[str]:
    """The GPU ids this process may use: ``CUDA_VISIBLE_DEVICES`` if set (empty or -1: none),
    else the indices ``nvidia-smi`` lists, else none."""
    if VISIBLE in environ:
        ids = [part.strip() for part in environ[VISIBLE].split(",") if part.strip()]
        return [] if ids[:1] in (["-1"], ["NoDevFiles"]) else ids
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        listed = subprocess.run(
            ["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in listed.splitlines() if line.strip()]


def _lock(path: Path):
    """An open file holding an exclusive lock on ``path``, or None when another job holds it."""
    handle = path.open("a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


@contextlib.contextmanager
def claim_gpus(
    count: int, slots: Path = SLOTS, environ: Mapping[str, str] | None = None
) -> Iterator[list[str]]:
    """Claim ``count`` GPU ids for the duration of the block and make them the only visible ones.

    Sets ``CUDA_VISIBLE_DEVICES`` in this process, so call it before TensorFlow or JAX
    start. No GPU at all: an empty list, the job runs on the CPU. Fewer free GPUs than
    asked: a RuntimeError saying why (``--resources gpu=`` above the GPUs this machine has).
    """
    environ = os.environ if environ is None else environ
    visible = visible_gpus(environ)
    if count < 1 or not visible:
        yield []
        return
    if count > len(visible):
        raise RuntimeError(
            f"this job asks for {count} GPUs but {len(visible)} are visible ({','.join(visible)}); "
            "lower the model's gpus setting"
        )
    if "SLURM_JOB_ID" in environ:  # the allocation is this job's own
        chosen, held = visible[:count], []
    else:
        slots.mkdir(parents=True, exist_ok=True)
        chosen, held = [], []
        for gpu in visible:
            handle = _lock(slots / f"gpu{gpu}.lock")
            if handle is not None:
                chosen.append(gpu)
                held.append(handle)
            if len(chosen) == count:
                break
        if len(chosen) < count:
            for handle in held:
                handle.close()
            raise RuntimeError(
                f"this job asks for {count} GPUs but only {len(chosen)} of {','.join(visible)} "
                f"are free (the others are held by running jobs, locks in {slots}); "
                "--resources gpu= is above the GPUs this machine has"
            )
    os.environ[VISIBLE] = ",".join(chosen)
    log.info("GPU devices: %s (of %s visible)", ",".join(chosen), ",".join(visible))
    try:
        yield chosen
    finally:
        for handle in held:
            handle.close()
