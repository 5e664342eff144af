"""Rule `motif_tracks`: one TF's motif channels over every split's examples, z-scored."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from nettime.data.writer import build_motif_tracks  # noqa: E402
from nettime.layout import SPLITS  # noqa: E402

build_motif_tracks(snakemake.input.fasta, dict(zip(SPLITS, snakemake.input.examples,
                                                   strict=True)),
                   snakemake.params.window, snakemake.params.motif, snakemake.params.motif_dir,
                   snakemake.params.normalisation, dict(zip(SPLITS, snakemake.output,
                                                           strict=True)))
