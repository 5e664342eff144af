"""Baseline methods the paper compares NetTIME with, reimplemented here: each a model kind of
the registry that trains on the same data sets and writes the same predictions file, so that
thresholds, calls, metrics and figures score it unchanged.
"""
