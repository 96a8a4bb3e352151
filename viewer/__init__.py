"""Desktop viewer for a restorebench run: damaged / clean / VAE / GAN images with their scores.

Reads only the files the workflow writes (``dataset.h5``, ``predictions/*.h5``,
``metrics/*.csv``, ``summary.csv``) with h5py, numpy and csv; it never imports
TensorFlow or the training code, so it starts in about a second.

    python -m viewer results/<run> [--screenshot out.png --index N]
"""
