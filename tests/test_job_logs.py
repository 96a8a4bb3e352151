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
from pathlib import Path

import pytest
from conftest import HANG_S

from restorebench.logs import configure, run_logged
from restorebench.watchdog import PARENT_VARIABLE

# Holds the log through run_logged: logs a line, says so on stdout, logs another line
# once stdin gets one, then ends.
HOLDER = """
import logging, sys
from restorebench.logs import run_logged

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
