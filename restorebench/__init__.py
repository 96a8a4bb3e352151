"""restorebench: a reproducible benchmark of learned image restoration (VAE, GAN, diffusion).

The library holds the logic (image I/O, damage, dataset, models, training,
metrics); the Snakemake rules and scripts/ only wire it together. It never
imports snakemake, so every piece can be tested and reused on its own.
"""

__version__ = "0.1.0"
