"""Snakemake script of rule simulate_portal: stage 4 (ENCODE-shaped metadata)."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from nettime.config import load_project  # noqa: E402
from nettime.simulate import write_portal  # noqa: E402

project = load_project(snakemake.params.config_path, config=dict(snakemake.config))
write_portal(project, snakemake.params.outdir)
