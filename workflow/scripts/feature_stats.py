"""Rule `feature_stats`: z-score statistics of every signal and motif track over a split."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from nettime.data.writer import build_stats  # noqa: E402

params = snakemake.params
build_stats(snakemake.input.examples, snakemake.input.fasta,
            dict(zip([tuple(name.split(".")) for name in params.cell_assays],
                     snakemake.input.signals, strict=True)),
            params.motifs, params.motif_dir, params.window, snakemake.output[0])
