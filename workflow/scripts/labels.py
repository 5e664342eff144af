"""Rule `labels`: base labels of one condition (conserved and relaxed) on a split's examples."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from nettime.data.writer import build_labels  # noqa: E402

build_labels(snakemake.input.examples, snakemake.params.window, snakemake.input.conserved,
             snakemake.input.relaxed, snakemake.output[0])
