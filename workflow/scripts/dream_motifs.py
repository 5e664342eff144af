"""Rule `dream_motifs`: one TF's motif channels over the genome-wide tiles, z-scored like the
training split."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from nettime.data.tiles import build_tile_motifs  # noqa: E402

build_tile_motifs(snakemake.input.fasta, snakemake.input.tiles, snakemake.output[0],
                  snakemake.params.motif, snakemake.params.motif_dir,
                  snakemake.params.normalisation,
                  reference=snakemake.input.reference[0] if snakemake.input.reference else None)
