"""Rule `simulate_condition`: stage 2 of the simulated data set (peaks and truth of one
condition)."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from nettime.sources.simulate.condition import simulate_condition  # noqa: E402

simulate_condition(snakemake.params.outdir, *snakemake.wildcards.condition.split(".", 1),
                   motif=snakemake.params.motif or None)
