"""Rule `inpeak_signal`: a (cell type, assay) bigWig's values inside its peaks."""

import sys

from nettime.files import atomic_output
from nettime.genome import read_chrom_sizes
from nettime.signals import write_inpeak

sys.stderr = open(snakemake.log[0], "w")

with atomic_output(snakemake.output[0], suffix=".h5") as tmp:
    write_inpeak(snakemake.input.bigwig, snakemake.input.peaks,
                 read_chrom_sizes(snakemake.input.sizes), tmp)
