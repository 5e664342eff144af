"""Rule `dream_evaluate`: the ENCODE-DREAM protocol's auPRC and auROC per condition of one
model."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from nettime.evaluation.dream import write_dream_table  # noqa: E402

conditions = snakemake.params.conditions
peaks = None
if not snakemake.params.labels_dir:
    peaks = dict(zip(conditions, zip(snakemake.input.conserved, snakemake.input.relaxed,
                                     strict=True), strict=True))
write_dream_table(snakemake.input.maxima, snakemake.wildcards.model, conditions,
                  snakemake.input.sizes, snakemake.params.bin, snakemake.params.step,
                  snakemake.output[0], peaks=peaks, labels_dir=snakemake.params.labels_dir,
                  label_columns=snakemake.params.label_columns,
                  blacklist=snakemake.input.blacklist[0] if snakemake.input.blacklist else None)
