"""Restored images to figures: the metrics (pixel, perceptual, mask), the summary with its
intervals and tests, its pages and plots, and the rule costs. Nothing here trains, so a
metric edit reruns no training.
"""
