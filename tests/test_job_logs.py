"""A job's log belongs to the live job writing it (issue 34).

A second Snakemake on a running run (``--nolock --rerun-incomplete``) starts the same job
again; it must refuse without erasing the running job's log, even though Snakemake
deletes that log before starting its job.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import HANG_S, SNAKEMAKE

from restorebench.runtime.logs import configure, run_logged
from restorebench.runtime.watchdog import PARENT_VARIABLE

# Holds the log through run_logged: logs a line, says so on stdout, logs another line
# once stdin gets one, then ends.
HOLDER = """
import logging, sys
from restorebench.runtime.logs import run_logged

def main():
    log = logging.getLogger("restorebench")
    log.info("first job: epoch 1")
    print("holding", flush=True)
    sys.stdin.readline()
    log.info("first job: epoch 2")

run_logged(sys.argv[1], main)
"""


def _start_holder(log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != PARENT_VARIABLE}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(log)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    ready, _, _ = select.select([holder.stdout], [], [], HANG_S)
    assert ready and holder.stdout.readline() == "holding\n", "the first job never held its log"
    return holder


def _second_job(log: Path) -> None:
    logging.getLogger("restorebench").info("second job")


@pytest.mark.parametrize(
    "deleted", [False, True], ids=["log-kept", "log-deleted-as-snakemake-does"]
)
def test_a_second_job_on_a_live_log_refuses_and_leaves_it_intact(tmp_path, capsys, deleted):
    log = tmp_path / "logs" / "train" / "vae.log"
    holder = _start_holder(log)
    try:
        before = log.read_text()
        assert "first job: epoch 1" in before
        if deleted:
            log.unlink()  # Snakemake's Job.remove_existing_output before the second job runs
        with pytest.raises(SystemExit) as stop:
            run_logged(log, lambda: _second_job(log))
        assert stop.value.code == 1
        message = capsys.readouterr().err
        assert str(log) in message and "another job is running and writing this log" in message
        assert "--nolock" in message
        if deleted:
            assert not log.exists(), "the refused job created the log"
            holder.stdin.write("go\n")
            holder.stdin.close()
            assert holder.wait(HANG_S) == 0
            after = log.read_text()  # put back by the first job, whole
            assert after.startswith(before) and "first job: epoch 2" in after
        else:
            assert log.read_text() == before
            holder.send_signal(signal.SIGKILL)  # a killed job leaves a stale log, no holder
            holder.wait(HANG_S)
        assert "second job" not in log.read_text()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(HANG_S)

    run_logged(log, lambda: _second_job(log))
    configure(None)  # closes the log and its lock
    text = log.read_text()
    assert "second job" in text and "first job" not in text


# The same job as a rule's script: the handshake is by files, since Snakemake owns its
# stdin and stdout. It waits for ``release`` at most HANG_S, against a test that died.
SNAKEFILE = """
rule hold:
    output: "done.txt"
    log: "logs/hold.log"
    script: "hold.py"
"""
HOLD_SCRIPT = f"""
import logging, time
from pathlib import Path
from restorebench.runtime.logs import run_logged

def main():
    log = logging.getLogger("restorebench")
    if Path("ready").exists():  # a second job let in: it ends at once, never waits
        log.info("second job")
        return
    log.info("first job: epoch 1")
    Path("ready").touch()
    deadline = time.monotonic() + {HANG_S}
    while not Path("release").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    log.info("first job: epoch 2")
    Path(snakemake.output[0]).touch()

run_logged(snakemake.log[0], main)
"""


def _wait_for(path: Path, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + HANG_S
    while not path.exists():
        assert process.poll() is None, f"the first Snakemake ended:\n{process.communicate()[0]}"
        assert time.monotonic() < deadline, f"the first job never wrote {path}"
        time.sleep(0.05)


def test_a_second_snakemake_with_nolock_leaves_the_running_jobs_log_whole(tmp_path):
    """Snakemake deletes the log before the second job and touches an empty one after it
    failed: the running job's log must still come out whole, not empty."""
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    (tmp_path / "hold.py").write_text(HOLD_SCRIPT)
    command = [*SNAKEMAKE, "--cores", "1", "--nolock", "--rerun-incomplete"]
    env = {k: v for k, v in os.environ.items() if k != PARENT_VARIABLE}
    first = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    try:
        _wait_for(tmp_path / "ready", first)
        second = subprocess.run(
            command,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=HANG_S,
            env=env,
            check=False,
        )
        assert second.returncode != 0
        assert "logs/hold.log: another job is running and writing this log" in second.stderr
    finally:
        (tmp_path / "release").touch()
        output = first.communicate(timeout=HANG_S)[0]
    assert first.returncode == 0, output
    text = (tmp_path / "logs/hold.log").read_text()
    assert "first job: epoch 1" in text and "first job: epoch 2" in text, text
    assert "put back by the job writing it" in text and "second job" not in text
