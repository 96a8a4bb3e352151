"""restorebench's benchmark suite: ``python -m bench`` (``make bench``) writes BENCHMARKS.md.

Everything it generates lives in a scratch folder outside the repository; only
BENCHMARKS.md and bench/results.json are written into it.
"""
