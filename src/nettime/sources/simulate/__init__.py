"""The simulated ENCODE-like data set: a genome, TF binding with a known ground truth, ChIP-seq
peaks, chromatin signals and ENCODE-shaped portal metadata, in four stages so that a new
condition reruns only its own files.

Modules: :mod:`~.common` (sizes, random streams, the world's specification, readers and
writers), :mod:`~.world` (stage 1), :mod:`~.condition` (stage 2), :mod:`~.cell` (stage 3),
:mod:`~.portal` (stage 4), :mod:`~.run` (every stage for a project), :mod:`~.checks` (that the
planted signal is there).
"""
