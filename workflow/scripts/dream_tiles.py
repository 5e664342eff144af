"""Rule `dream_tiles`: windows tiling the ENCODE-DREAM protocol's chromosomes, with their
sequence (the genome-wide data set's examples)."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from nettime.data.tiles import build_tiles  # noqa: E402

tiling = build_tiles(snakemake.input.fasta, snakemake.input.sizes, snakemake.params.chromosomes,
                     snakemake.params.window, snakemake.params.grid, snakemake.output[0])
print(f"{tiling.n_examples} windows over {', '.join(tiling.chromosomes)}", file=sys.stderr)
