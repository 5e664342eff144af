"""Snakemake script of rule simulate_cell: stage 3 (signals and peak calls of one cell type)."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from nettime.simulate import simulate_cell  # noqa: E402

simulate_cell(snakemake.params.outdir, snakemake.wildcards.cell, list(snakemake.params.assays),
              progress=lambda msg: print(msg, file=sys.stderr))
