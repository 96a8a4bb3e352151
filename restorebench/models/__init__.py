"""The networks: shared blocks, the blend head and its loss terms, and the family registry.
Only this package and training build Keras models.
"""
