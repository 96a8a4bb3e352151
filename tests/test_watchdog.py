"""A script started by Snakemake stops when Snakemake is gone, even after a kill -9."""

import contextlib
import os
import signal
import subprocess
import sys
import time

import psutil

from restorebench.runtime.watchdog import PARENT_VARIABLE, watch_parent

# A stand-in for Snakemake: names itself in the environment and starts a job through a
# shell, as Snakemake runs a rule's script; the job watches it and then idles.
PARENT = f"""
import os, subprocess, sys, time
os.environ["{PARENT_VARIABLE}"] = str(os.getpid())
child = "from restorebench.runtime.watchdog import watch_parent; import sys, time; "
child += "print(watch_parent(0.1), flush=True); time.sleep(600)"
subprocess.Popen(["/bin/sh", "-c", f"{{sys.executable}} -c '{{child}}' > {{sys.argv[1]}}"])
time.sleep(600)
"""


def test_a_job_ends_once_its_snakemake_is_killed(tmp_path):
    out = tmp_path / "watched"
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(out)], start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not (out.exists() and out.read_text().strip()):
            assert time.monotonic() < deadline, "the job never started"
            time.sleep(0.05)
        assert out.read_text().strip() == str(parent.pid)
        job = next(
            p
            for p in psutil.Process(parent.pid).children(recursive=True)
            if "watch_parent" in " ".join(p.cmdline())
        )
        parent.kill()
        parent.wait()
        job.wait(timeout=120)  # raises if the job outlives its parent
    finally:
        with contextlib.suppress(ProcessLookupError):  # nothing of it is left
            os.killpg(parent.pid, signal.SIGKILL)


def test_a_pid_that_is_no_ancestor_is_not_watched():
    """A cluster job inherits the submitting host's value: that process is not its parent."""
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert watch_parent(environ={PARENT_VARIABLE: str(stranger.pid)}) is None
        assert watch_parent(environ={PARENT_VARIABLE: "not a pid"}) is None
        assert watch_parent(environ={}) is None
    finally:
        stranger.kill()
        stranger.wait()
