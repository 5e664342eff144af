"""The ENCODE source: resolve each configured condition and cell-type assay to file accessions
on the portal (or a mirror), record them in a lock table, download and verify them, and write
them in the acquired layout.

Modules in data-flow order: :mod:`~.settings` (configuration, errors, selection defaults),
:mod:`~.client` (HTTP: rate limit, retries, resumable downloads), :mod:`~.lock` (what a
project wants; the lock table), :mod:`~.selection` (which file serves each role),
:mod:`~.acquired` (downloads -> acquired files), :mod:`~.project` (whole-project steps).
"""
