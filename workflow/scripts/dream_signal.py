"""Rule `dream_signal`: one cell type's assay over the genome-wide tiles, z-scored like the
training split."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from nettime.data.tiles import build_tile_signal  # noqa: E402

build_tile_signal(snakemake.input.inpeak, snakemake.input.tiles, snakemake.output[0],
                  snakemake.params.normalisation,
                  reference=snakemake.input.reference[0] if snakemake.input.reference else None)
