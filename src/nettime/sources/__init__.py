"""Acquisition: where the data come from, written in one layout (``resources/{source}/``:
genome, blacklist, ChIP-seq peaks per condition, peaks and signal tracks per cell-type assay)
that every later stage reads the same way.

- :mod:`nettime.sources.encode`: the ENCODE portal client (settings, HTTP client with retries
  and resumable verified downloads, the lock table, file selection, acquired files).
- :mod:`nettime.sources.simulate`: the simulated ENCODE-like data set, stage by stage, with its
  ground truth and ENCODE-shaped portal metadata.
"""
