"""Snakemake script of rule track: a bigWig of one condition's test-split probabilities."""

import sys

from nettime.tracks import track_from_predictions

sys.stderr = open(snakemake.log[0], "a", buffering=1)

track_from_predictions(snakemake.input.predictions, snakemake.input.data, snakemake.input.sizes,
                       snakemake.wildcards.condition, snakemake.output[0])
