"""Scores of predictions and calls: per-condition metric tables of a model on a split
(:mod:`~.evaluate`, on the definitions of :mod:`nettime.metrics`) and statistics across
conditions (:mod:`~.statistics`: summaries, paired Wilcoxon tests, embedding distances).
"""
