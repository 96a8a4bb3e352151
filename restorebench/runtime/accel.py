"""Accelerator choices: process settings, precision, XLA, devices and per-replica losses.

Importing it changes nothing; entry points call :func:`configure` before Keras is first
imported, because TensorFlow and JAX read their settings only once, when they start.
"""

import contextlib
import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger("restorebench.runtime.accel")

# glibc's mallopt parameters (malloc.h).
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_MAX = -1, -2, -4
TOP_PAD = 64 * 2**20


def keep_freed_memory() -> bool:
    """Make glibc malloc keep freed memory for reuse instead of returning it to the kernel.

    By default glibc serves each large buffer with a fresh mmap and unmaps it on free, and
    trims freed heap tops; a TensorFlow CPU step allocates and frees the same large
    buffers every step, so each step faults every page in again and a large share of the
    CPU goes to the kernel (docs/training.md, "Memory allocator"). With mmap off, no trimming and a
    top pad, the process reuses its peak footprint. A no-op (False) without glibc, where
    the allocator is another one, or when RESTOREBENCH_MALLOC=default asks to keep glibc's
    behaviour.
    """
    if os.environ.get("RESTOREBENCH_MALLOC") == "default":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
    except OSError:
        return False
    if not hasattr(libc, "gnu_get_libc_version"):  # musl, macOS: other allocators
        return False
    settings = ((M_MMAP_MAX, 0), (M_TRIM_THRESHOLD, 2**31 - 1), (M_TOP_PAD, TOP_PAD))
    applied = all(libc.mallopt(parameter, value) == 1 for parameter, value in settings)
    if not applied:
        log.warning("glibc refused a mallopt setting; training may spend CPU on page faults")
    return applied


def configure(threads: int | None = None) -> None:
    """Process settings for TensorFlow and JAX; call before Keras is first imported.

    A GPU is shared with other jobs (Snakemake runs one per ``gpu`` resource, other people
    use the card too), so neither backend may reserve the whole card up front; values a
    user already exported win. ``threads`` keeps TensorFlow's thread pools within the
    cores Snakemake granted the job. Freed memory is kept for reuse
    (:func:`keep_freed_memory`).
    """
    kept = keep_freed_memory()
    log.info(
        "memory allocator: %s",
        "glibc keeps freed memory for reuse (RESTOREBENCH_MALLOC=default turns it off)"
        if kept
        else "the platform's default",
    )
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    if threads is not None:
        os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)
        os.environ["TF_NUM_INTEROP_THREADS"] = str(max(1, min(2, threads)))


PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")


def gpu_count() -> int:
    """GPUs the active Keras backend can use."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return len(tf.config.list_physical_devices("GPU"))
    if backend == "jax":
        import jax

        return sum(device.platform == "gpu" for device in jax.devices())
    if backend == "torch":
        import torch

        return torch.cuda.device_count()
    return 0


def resolve_precision(setting: str, gpus: int) -> str:
    """The Keras dtype policy for ``train.precision``.

    ``auto``: float32 on a CPU (mixed precision there only adds casts); on a GPU
    bfloat16, which needs no loss scaling, where the card computes it natively
    (compute capability 8.0 and up, TensorFlow), else float16.
    """
    if setting not in PRECISIONS:
        raise ValueError(
            f"config key train.precision: unknown value '{setting}', expected one of {PRECISIONS}"
        )
    if setting != "auto":
        return setting
    if gpus == 0:
        return "float32"
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        details = tf.config.experimental.get_device_details(
            tf.config.list_physical_devices("GPU")[0]
        )
        if details.get("compute_capability", (8, 0)) < (8, 0):
            return "mixed_float16"
    return "mixed_bfloat16"


def resolve_jit(setting: str | bool, gpus: int) -> bool:
    """``train.jit_compile``: XLA pays off on a GPU; on a CPU TensorFlow's XLA is slower.

    Under JAX ``auto`` is always on: there the step without it runs one dispatched
    operation at a time (figures in docs/training.md, "Backends").
    """
    if setting == "auto":
        import keras

        return gpus > 0 or keras.backend.backend() == "jax"
    if not isinstance(setting, bool):
        raise TypeError(
            f"config key train.jit_compile: expected auto, true or false, got {setting!r}"
        )
    return setting


def resolve_device_input(setting: str | bool, gpus: int) -> bool:
    """``train.device_input``: batches go to the device as uint8, converted and mirrored there.

    ``auto`` is on with a GPU, where a quarter of the bytes crosses to the card and the
    host threads only slice arrays; on a CPU the step and the conversion share the same
    cores, and the host's threaded conversion stays (docs/training.md, "Input pipeline").
    """
    if setting == "auto":
        return gpus > 0
    if not isinstance(setting, bool):
        raise TypeError(
            f"config key train.device_input: expected auto, true or false, got {setting!r}"
        )
    return setting


def check_steps_per_execution(steps: int) -> int:
    """``train.steps_per_execution``: a whole number of steps, at least 1."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(
            f"config key train.steps_per_execution: expected a whole number of at least 1, "
            f"got {steps!r}"
        )
    return steps


# Threads that make the next training batches while a GPU trains on the current one.
GPU_INPUT_WORKERS = 4


def input_workers(gpus: int) -> int:
    """Threads for ``PairBatches``: several beside a GPU, one on a CPU.

    A GPU finishes a step sooner than one host thread can index, mirror and convert the
    next batch, so more threads fill Keras' queue while it trains (BENCHMARKS.md, "GPU").
    On a CPU the step needs every core and making a batch is a sliver of it.
    """
    if gpus == 0:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(GPU_INPUT_WORKERS, (cores or 1) - 1))


def distribution(gpus: int):
    """Data-parallel training over all GPUs when there are several, else None.

    TensorFlow: a MirroredStrategy. JAX: Keras' ``DataParallel`` over the GPUs
    (:func:`data_parallel`). Either way ``batch_size`` stays the global batch, split
    across the devices, and the loss is the mean over it, so the learning rate keeps its
    one-device meaning. Other backends train on their first GPU; a job given several says
    so in its log, since the others would sit idle.
    """
    import keras

    if gpus < 2:
        return None
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.distribute.MirroredStrategy()
    if backend == "jax":
        return data_parallel(keras.distribution.list_devices("gpu")[:gpus])
    log.warning(
        "%d GPUs visible, but data-parallel training needs the tensorflow or jax backend: "
        "training on the first under %s; set the model's gpus to 1",
        gpus,
        backend,
    )
    return None


def data_parallel(devices: list[str]):
    """Keras' ``DataParallel`` over ``devices`` (JAX names such as ``gpu:0``).

    Under JAX the step stays one program over the global batch: XLA shards its batch
    dimension and inserts the gradient all-reduce, so the GAN's hand-written stateless
    step and BatchNorm's batch statistics see the whole batch, as on one device. Weights
    are replicated, so checkpoints are the same files whatever the device count.
    """
    import keras

    return keras.distribution.DataParallel(devices=devices)


def replicas(strategy) -> int:
    """How many devices share each batch under ``strategy`` (None: one)."""
    if strategy is None:
        return 1
    if hasattr(strategy, "num_model_replicas"):  # keras.distribution.DataParallel
        return strategy.num_model_replicas
    return strategy.num_replicas_in_sync


def keras_distribution(strategy):
    """The context that must surround fit, evaluate and loading under JAX's distribution.

    Keras' JAX trainer reads the global distribution when it shards each batch and each
    loaded weight, not only when layers are built, so the whole training runs inside its
    scope. A TensorFlow strategy needs only the build inside its own scope: nothing here.
    """
    if strategy is not None and hasattr(strategy, "num_model_replicas"):
        return strategy.scope()
    return contextlib.nullcontext()


def per_replica(loss):
    """A replica's share of the loss under ``tf.distribute``, whose gradients are summed.

    Keras applies this to its own losses; a model's own ``compute_loss`` or ``train_step``
    must do it itself. Identity for one replica and for other backends.
    """
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if replicas > 1:
            return loss * (1.0 / replicas)
    return loss
