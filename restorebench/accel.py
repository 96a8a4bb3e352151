"""Accelerator settings that must be in place before Keras picks its backend.

Import this module before ``keras``. A GPU is shared with other jobs (Snakemake runs
one per ``gpu`` resource, other people use the card too), so neither TensorFlow nor
JAX may reserve the whole card up front; both read these variables only once, when
they first touch the device. Values a user already exported win.
"""

import os

os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")


def limit_threads(threads: int) -> None:
    """Keep TensorFlow's thread pools within the cores Snakemake granted the job.

    Only effective before TensorFlow starts its runtime, hence environment variables.
    """
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = str(max(1, min(2, threads)))
