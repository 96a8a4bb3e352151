"""What happens around each epoch: progress logs, the NaN guard, validation scores.

Keras' own callbacks would log to a progress bar, end a diverged run quietly, and score
validation by the loss; these log to the rule's log file, stop with the key to change,
and score the held-out images exactly as the test split will be scored.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import keras
import numpy as np

from restorebench.restore.inference import restore_with
from restorebench.scoring.similarity import mean_psnr_ssim

log = logging.getLogger(__name__)


class LogEpochs(keras.callbacks.Callback):
    """One log line per epoch, so the rule's log file shows progress and pace."""

    def __init__(self, name: str):
        super().__init__()
        self.name = name

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        scores = " ".join(f"{key}={value:.4g}" for key, value in (logs or {}).items())
        seconds = time.perf_counter() - self.start
        log.info(
            "%s epoch %d/%d (%.1f s): %s",
            self.name,
            epoch + 1,
            self.params["epochs"],
            seconds,
            scores,
        )


class StopOnNaN(keras.callbacks.Callback):
    """Stops at the first non-finite batch loss with an error naming the key to change.

    Keras' TerminateOnNaN would end the epoch quietly and let the state of a diverged
    network be saved as a finished epoch. ``name`` is the config entry (``models.<name>``).
    """

    def __init__(self, name: str):
        super().__init__()
        self.name = name

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(float(loss)):
            raise FloatingPointError(
                f"{self.name}: the loss became {float(loss)} at batch {batch}; "
                f"lower config key models.{self.name}.learning_rate"
            )


class Validation(keras.callbacks.Callback):
    """Adds ``val_psnr`` and ``val_ssim`` to each epoch's logs, scored like the test split.

    The restorer's uint8 output is scored with the project's own metrics, so these
    curves predict the final table. With ``samples_dir`` (TensorFlow only) the first
    few images go to TensorBoard each epoch as damaged | restored | clean strips.
    """

    SAMPLES = 4

    def __init__(
        self,
        restorer: keras.Model,
        damaged: np.ndarray,
        clean: np.ndarray,
        samples_dir: Path | None = None,
    ):
        super().__init__()
        self.restorer, self.damaged, self.clean = restorer, damaged, clean
        self.writer = None
        if samples_dir is not None:
            import tensorflow as tf

            self.writer = tf.summary.create_file_writer(str(samples_dir))

    def scores(self) -> tuple[np.ndarray, dict[str, float]]:
        """The restorations and their mean PSNR and SSIM."""
        restored = restore_with(self.restorer, self.damaged)
        means = mean_psnr_ssim(self.clean, restored)
        return restored, {f"val_{name}": value for name, value in means.items()}

    def on_epoch_end(self, epoch, logs=None):
        restored, scores = self.scores()
        logs.update(scores)
        if self.writer is None:
            return
        import tensorflow as tf

        count = self.SAMPLES
        strips = np.concatenate(
            [self.damaged[:count], restored[:count], self.clean[:count]], axis=2
        )
        with self.writer.as_default():
            tf.summary.image("damaged | restored | clean", strips, step=epoch, max_outputs=count)
        self.writer.flush()
