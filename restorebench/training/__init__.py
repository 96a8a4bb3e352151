"""Training: dataset.h5 in, a fitted model of any registered family out.

Split by job so each part can be read, tested and reused alone: ``batches`` feeds the
networks, ``callbacks`` watch each epoch, ``batchnorm`` fixes statistics after the last
one, ``state`` makes a run resumable, and ``fit`` ties them together for a config entry.
"""
