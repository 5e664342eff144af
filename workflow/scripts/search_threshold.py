"""Rule `search_threshold`: the best of n random thresholds by IOU on validation predictions."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from nettime.calls.thresholds import build_thresholds  # noqa: E402

best, best_iou = build_thresholds(snakemake.input.predictions, snakemake.input.data[0],
                                  snakemake.params.settings, snakemake.output.table)
print(f"best threshold {best:.6f}: validation IOU {best_iou:.4f}", file=sys.stderr)
