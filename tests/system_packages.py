"""Installing Debian packages a test needs (Xvfb, SLURM), where we may (root + apt-get)."""

import os
import shutil
import subprocess


def apt_install(*packages: str) -> str | None:
    """Install Debian packages; None on success, else why not."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return f"{' '.join(packages)} missing and cannot be installed here (needs root and apt-get)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *packages]):
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, env=env, check=False, timeout=600
            )
        except subprocess.TimeoutExpired:
            return f"'{' '.join(command)}' took over 10 minutes"
        if result.returncode != 0:
            return f"'{' '.join(command)}' failed: {result.stderr.strip()[-300:]}"
    return None
