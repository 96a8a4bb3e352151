"""A throw-away single-node SLURM cluster (Debian's slurm-wlm + munge) for tests.

Everything lives in one temporary folder: configuration, keys, state, logs and a fake
GPU device file; the daemons run as the current (root) user and are stopped on exit.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Self

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue")


def missing_tools() -> list[str]:
    return [
        tool
        for tool in DAEMONS
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists()
    ]


def _tool(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalSlurm:
    """``with LocalSlurm(folder) as cluster:`` then use ``cluster.env`` for sbatch/snakemake."""

    def __init__(self, folder: Path, cpus: int = 16, memory_mb: int = 256_000, gpus: int = 1):
        self.folder = Path(folder)
        self.cpus, self.memory_mb, self.gpus = cpus, memory_mb, gpus
        self.host = socket.gethostname().split(".")[0]
        self.processes: list[subprocess.Popen] = []
        self.conf = self.folder / "slurm.conf"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}

    def _write_config(self) -> None:
        for sub in ("state", "spool", "log"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        devices = []
        for index in range(self.gpus):
            device = self.folder / f"fake-gpu{index}"
            device.write_text("")
            devices.append(str(device))
        socket_path = self.folder / "munge.socket"
        self.conf.write_text(
            f"""ClusterName=restorebench-test
SlurmctldHost={self.host}(127.0.0.1)
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={socket_path}
StateSaveLocation={self.folder / "state"}
SlurmdSpoolDir={self.folder / "spool"}
SlurmctldPidFile={self.folder / "slurmctld.pid"}
SlurmdPidFile={self.folder / "slurmd.pid"}
SlurmctldLogFile={self.folder / "log" / "slurmctld.log"}
SlurmdLogFile={self.folder / "log" / "slurmd.log"}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
SlurmdParameters=config_overrides
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
MinJobAge=3600
GresTypes=gpu
NodeName={self.host} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={self.memory_mb} Gres=gpu:{self.gpus} State=UNKNOWN
PartitionName=debug Nodes={self.host} Default=YES MaxTime=INFINITE State=UP
"""
        )
        (self.folder / "gres.conf").write_text(
            "".join(f"NodeName={self.host} Name=gpu File={device}\n" for device in devices)
        )
        # The jobstep plugin strips SLURM_* variables (SLURM_CONF too) before its inner
        # srun; real sites keep their config in /etc/slurm, so a shim restores ours.
        shims = self.folder / "bin"
        shims.mkdir(exist_ok=True)
        shim = shims / "srun"
        shim.write_text(f'#!/bin/sh\nSLURM_CONF="{self.conf}" exec "{_tool("srun")}" "$@"\n')
        shim.chmod(0o755)
        self.env["PATH"] = f"{shims}:{self.env.get('PATH', '')}"
        key = self.folder / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)

    def _start(self, *command: str) -> None:
        with open(self.folder / "log" / f"{Path(command[0]).name}.out", "w") as log:
            self.processes.append(
                subprocess.Popen(
                    command,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

    def __enter__(self) -> Self:
        self._write_config()
        folder = self.folder
        self._start(
            _tool("munged"),
            "--foreground",
            "--force",
            f"--key-file={folder / 'munge.key'}",
            f"--socket={folder / 'munge.socket'}",
            f"--pid-file={folder / 'munged.pid'}",
            f"--log-file={folder / 'log' / 'munged.log'}",
            f"--seed-file={folder / 'munge.seed'}",
        )
        self._wait(lambda: (folder / "munge.socket").exists(), "munged")
        self._start(_tool("slurmctld"), "-D", "-i", "-f", str(self.conf))
        self._wait(
            lambda: (
                self._run("scontrol", "ping").returncode == 0
                and "UP" in self._run("scontrol", "ping").stdout
            ),
            "slurmctld",
        )
        self._start(_tool("slurmd"), "-D", "-f", str(self.conf))
        self._wait(lambda: "idle" in self._run("sinfo", "-h", "-o", "%T").stdout, "slurmd")
        return self

    def _run(self, *command: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [_tool(command[0]), *command[1:]],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )

    def _wait(self, ready, what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            if any(process.poll() is not None for process in self.processes):
                break
            time.sleep(0.5)
        logs = "\n".join(
            f"--- {p.name}\n{p.read_text()[-2000:]}"
            for p in sorted((self.folder / "log").glob("*"))
        )
        self.__exit__(None, None, None)
        raise RuntimeError(f"{what} did not start\n{logs}")

    def jobs(self) -> list[dict[str, str]]:
        """Every job the controller remembers: id, name, state, and requested GPUs."""
        result = self._run("scontrol", "show", "job", "--oneliner")
        jobs = []
        for line in result.stdout.splitlines():
            fields = dict(item.split("=", 1) for item in line.split() if "=" in item)
            jobs.append(fields)
        return jobs

    def __exit__(self, *exc) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.processes.clear()
