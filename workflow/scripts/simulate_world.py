"""Snakemake script of rule simulate_world: stage 1 of the simulated data set."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from nettime.simulate import WorldSpec, load_motif_table, parse_scale, simulate_world  # noqa: E402

params = snakemake.params
spec = WorldSpec(
    tfs=list(params.tfs), cell_types=list(params.cell_types),
    # The motifs were checked (naming the config file) before any job; no path is passed as a
    # param, which would rerun the whole data set whenever another --configfile is named.
    motifs=load_motif_table(dict(params.motifs), params.tfs, "the workflow's config"),
    chromosomes=list(params.chromosomes), scale=parse_scale(params.scale), seed=int(params.seed))
simulate_world(spec, params.outdir, progress=lambda msg: print(msg, file=sys.stderr))
