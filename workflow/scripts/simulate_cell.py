"""Rule `simulate_cell`: stage 3 of the simulated data set (signals and peak calls of one cell
type)."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from nettime.sources.simulate.cell import simulate_cell  # noqa: E402

simulate_cell(snakemake.params.outdir, snakemake.wildcards.cell, list(snakemake.params.assays),
              progress=lambda message: print(message, file=sys.stderr))
