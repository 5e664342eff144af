"""Snakemake script of rule simulate_condition: stage 2 (peaks and truth of one condition)."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from nettime.config import split_condition  # noqa: E402
from nettime.simulate import simulate_condition  # noqa: E402

tf, cell_type = split_condition(snakemake.wildcards.condition)
simulate_condition(snakemake.params.outdir, tf, cell_type)
