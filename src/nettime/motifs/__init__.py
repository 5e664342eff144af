"""Motif matrices: JASPAR (offline, through pyjaspar) and MEME-format files, read and written,
and their similarity. Used by the simulated source, the motif feature channels and motif
comparisons.
"""
