"""NetTIME: base-pair-resolution, cell-type-specific transcription-factor binding prediction."""

__version__ = "0.1.0"
