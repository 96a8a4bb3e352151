"""Process settings applied before Keras starts: environment, threads, the allocator."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from restorebench.runtime import accel

# Allocate, touch and free a 40 MB buffer 20 times with plain malloc, as TensorFlow's CPU
# allocator does with a step's tensors, and report the minor page faults that cost.
FAULTS = """
import ctypes, ctypes.util, json, resource
from restorebench.runtime import accel
kept = accel.keep_freed_memory()
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype, libc.free.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
size = 40 * 2**20
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    buffer = libc.malloc(size)
    ctypes.memset(buffer, 1, size)
    libc.free(buffer)
print(json.dumps({"kept": kept, "faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before}))
"""


def faults(malloc: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "RESTOREBENCH_MALLOC"}
    if malloc:
        env["RESTOREBENCH_MALLOC"] = malloc
    result = subprocess.run(
        [sys.executable, "-c", FAULTS], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(result.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_memory_is_reused_instead_of_faulted_in_again():
    default, kept = faults("default"), faults(None)
    assert not default["kept"] and kept["kept"]
    pages = 20 * 40 * 2**20 // 4096
    assert default["faults"] > pages / 2  # every buffer's pages faulted in again
    assert kept["faults"] < pages / 20, (default, kept)


def test_configure_sets_threads_and_keeps_what_the_user_exported(monkeypatch):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    monkeypatch.delenv("TF_FORCE_GPU_ALLOW_GROWTH", raising=False)
    monkeypatch.setenv("RESTOREBENCH_MALLOC", "default")  # leave this test process alone
    accel.configure(threads=3)
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"
    assert os.environ["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"
    assert os.environ["TF_NUM_INTRAOP_THREADS"] == "3"
    assert os.environ["TF_NUM_INTEROP_THREADS"] == "2"


def test_input_threads_one_on_a_cpu_several_beside_a_gpu(monkeypatch):
    assert accel.input_workers(0) == 1
    monkeypatch.setattr(accel.os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)
    assert accel.input_workers(1) == accel.GPU_INPUT_WORKERS
    monkeypatch.setattr(accel.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert accel.input_workers(2) == 1  # a 2-core host keeps one core for the step


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_several_gpus_under_jax_train_data_parallel_over_them():
    """Two host devices stand in for two GPUs: ``distribution`` spans the ones it is given."""
    script = "import keras; from restorebench.runtime import accel; "
    script += "keras.distribution.list_devices = lambda kind=None: ['cpu:0', 'cpu:1', 'cpu:2']; "
    script += "print(accel.replicas(accel.distribution(2)), accel.replicas(accel.distribution(1)))"
    env = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "JAX_PLATFORMS": "cpu",
        "XLA_FLAGS": "--xla_force_host_platform_device_count=3",
    }
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "2 1"
