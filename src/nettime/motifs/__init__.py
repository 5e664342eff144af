"""Motifs: matrices and de novo discovery.

- :mod:`~.matrices`: JASPAR matrices (offline, through pyjaspar) and MEME-format files, read and
  written; used by the simulated source and the motif feature channels.
- :mod:`~.streme`: de novo discovery by an engine: the MEME Suite's ``streme`` when it is on the
  PATH, else the STREME-like engine reimplemented here (:mod:`~.discovery`, with
  :mod:`~.scoring`, :mod:`~.enrichment` and :mod:`~.shuffle`); STREME's MEME files.
- :mod:`~.compare`: TOMTOM (memelite) of one motif against another or against JASPAR.
"""
