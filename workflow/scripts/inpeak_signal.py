"""Rule `inpeak_signal`: a (cell type, assay) bigWig's values inside its peaks."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from nettime.data.signals import build_inpeak  # noqa: E402

build_inpeak(snakemake.input.bigwig, snakemake.input.peaks, snakemake.input.sizes,
             snakemake.output[0])
