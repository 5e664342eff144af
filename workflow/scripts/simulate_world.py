"""Rule `simulate_world`: stage 1 of the simulated data set."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from nettime.sources.simulate.world import make_world  # noqa: E402

make_world(snakemake.params.outdir, snakemake.params.tfs, snakemake.params.cell_types,
           snakemake.params.motifs, snakemake.params.chromosomes, snakemake.params.scale,
           snakemake.params.seed, progress=lambda message: print(message, file=sys.stderr))
