"""The simulated ENCODE-like data set: a genome, TF binding with a known ground truth, ChIP-seq
peaks, chromatin signals and ENCODE-shaped portal metadata, in four stages so that a new
condition reruns only its own files.

The world (stage 1) is made of the TFs and cell types of the supervised panels (train,
heldout); a condition or cell type of another panel (new) is simulated from the world's files
without changing them, the way the world simulates its own pairs.

Modules: :mod:`~.common` (sizes, random streams, the world's specification, readers and
writers), :mod:`~.binding` (the binding model, one TF and cell type at a time), :mod:`~.world`
(stage 1), :mod:`~.condition` (stage 2), :mod:`~.cell` (stage 3), :mod:`~.portal` (stage 4),
:mod:`~.run` (every stage for a project), :mod:`~.checks` (that the planted signal is there).
"""
