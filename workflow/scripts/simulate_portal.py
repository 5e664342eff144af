"""Rule `simulate_portal`: stage 4 of the simulated data set (ENCODE-shaped metadata)."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from nettime.sources.simulate.portal import write_project_portal  # noqa: E402

write_project_portal(snakemake.config, snakemake.params.outdir)
