"""Rule `labels`: base labels of one condition (conserved and relaxed) on a split's examples."""

import sys

from nettime.dataset import write_labels
from nettime.files import atomic_output
from nettime.peaks import read_bed

sys.stderr = open(snakemake.log[0], "w")

examples = read_bed(snakemake.input.examples)
with atomic_output(snakemake.output[0], suffix=".h5") as tmp:
    write_labels(examples, snakemake.params.window,
                 {"conserved": snakemake.input.conserved, "relaxed": snakemake.input.relaxed}, tmp)
