"""Desktop viewer for a restorebench run: damaged, clean and every model's images with scores.

Reads only the files the workflow writes (``dataset.h5``, ``predictions/*.h5``,
``metrics/*.csv``, ``metrics/masks/*.csv``, ``summary.csv``, ``summary_buckets.csv`` and the
provenance records beside them; their names from ``restorebench.contract``) with h5py,
numpy and csv; it never imports TensorFlow, Keras or the training code, so it starts in
about a second.

    python -m viewer results/<run> [--screenshot out.png --index N] [--compare gan,clean]
        [--mask true]
"""
