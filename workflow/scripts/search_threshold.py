"""Snakemake script: the best of n random thresholds by IOU on validation predictions."""

import sys

from nettime.calls import search_threshold, write_threshold_table

sys.stderr = open(snakemake.log[0], "w")  # open for the whole job
settings = snakemake.params.settings
table, best, best_iou = search_threshold(
    snakemake.input.predictions,
    snakemake.input.data,
    n_thresholds=settings["n_thresholds"],
    seed=settings["threshold_seed"],
    label_set=settings["label_set"],
    block_size=settings["block_size"],
)
write_threshold_table(table, best, best_iou, snakemake.output.table)
print(f"best threshold {best:.6f}: validation IOU {best_iou:.4f}", file=sys.stderr)
