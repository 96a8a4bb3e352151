"""What every job needs around its work: backend and thread settings, GPU claims, the
parent watchdog, logs, versions, the code digest and provenance records, config checks.
"""
