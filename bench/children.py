"""The benchmark's child processes, each with its own thread settings, and its progress log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from bench.workflow import REPO


def run_child(
    module: str, *args: str, threads: int, timeout: float = 3600, environ: dict | None = None
) -> object:
    """Run ``python -m module ARGS`` with TensorFlow held to ``threads`` cores; its last stdout line is JSON.

    ``environ`` adds variables to the child's environment.
    """
    env = {
        **os.environ,
        **(environ or {}),
        "TF_NUM_INTRAOP_THREADS": str(threads),
        "TF_NUM_INTEROP_THREADS": str(min(2, threads)),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "QT_QPA_PLATFORM": "offscreen",
    }
    result = subprocess.run(
        [sys.executable, "-m", module, *args],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"python -m {module} failed ({result.returncode}):\n{result.stderr[-3000:]}"
        )
    return json.loads(result.stdout.strip().splitlines()[-1])


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)
