"""Snakemake script: the tidy metric table of one model on one split."""

import sys

from nettime.evaluation import evaluate_split
from nettime.files import atomic_output

sys.stderr = open(snakemake.log[0], "w")  # open for the whole job
settings = snakemake.params.settings
table = evaluate_split(
    snakemake.input.predictions,
    snakemake.input.data,
    model=snakemake.wildcards.model,
    split=snakemake.wildcards.split,
    calls=snakemake.input.get("calls"),  # absent for prediction variants
    bin_widths=settings["bin_widths"],
    label_set=settings["label_set"],
    block_size=settings["block_size"],
    score_method=snakemake.wildcards.get("variant", "probability"),
)
with atomic_output(snakemake.output.table) as tmp:
    table.to_csv(tmp, sep="\t", index=False)
