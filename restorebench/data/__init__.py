"""Raw pictures to a validated dataset: sources, reading and fitting images, damage,
alignment, masks, and the HDF5 file every later stage reads.
"""
