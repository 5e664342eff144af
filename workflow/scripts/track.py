"""Rule `track`: a bigWig of one condition's test-split probabilities."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from nettime.calls.tracks import track_from_predictions  # noqa: E402

track_from_predictions(snakemake.input.predictions, snakemake.input.data, snakemake.input.sizes,
                       snakemake.wildcards.condition, snakemake.output[0])
