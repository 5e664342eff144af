"""NetTIME: base-pair-resolution, cell-type-specific transcription-factor binding prediction.

Packages in data-flow order; a module imports only from its own package, from earlier ones and
from the foundation modules (:mod:`~.config`, :mod:`~.layout`, :mod:`~.files`,
:mod:`~.cpu_env`, :mod:`~.metrics`):

1. :mod:`nettime.motifs`: motif matrices (JASPAR, MEME files).
2. :mod:`nettime.sources`: acquisition (ENCODE portal, simulated data set).
3. :mod:`nettime.data`: peaks, examples, signals, motif channels, the HDF5 data set, the
   predictions file.
4. :mod:`nettime.models`: the network, training, prediction, the model registry.
5. :mod:`nettime.baselines`: reimplemented baseline methods.
6. :mod:`nettime.calls`: thresholds, the CRF, binary calls, tracks.
7. :mod:`nettime.evaluation`: metric tables and statistics.
8. :mod:`nettime.paper`: experiments, the figure registry, drawing, findings.

:mod:`nettime.cli` is the command line over all of them. See ``docs/architecture.md``.
"""

__version__ = "0.1.0"
