"""Snakemake script of rule simulate_portal: stage 4 (ENCODE-shaped metadata)."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from nettime.config import load_project  # noqa: E402
from nettime.simulate import write_portal  # noqa: E402

# The config was checked (naming its file) before any job; the path is not a param, which
# would rerun this job whenever another --configfile is named.
project = load_project("the workflow's config", config=dict(snakemake.config))
write_portal(project, snakemake.params.outdir)
