"""Rule `labels`: base labels of one condition (conserved and relaxed) on every split."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from nettime.data.writer import build_labels  # noqa: E402
from nettime.layout import SPLITS  # noqa: E402

build_labels(dict(zip(SPLITS, snakemake.input.examples, strict=True)), snakemake.params.window,
             snakemake.input.conserved, snakemake.input.relaxed,
             dict(zip(SPLITS, snakemake.output, strict=True)))
