"""Figure rules: one figure of the paper and the numbers it shows (nettime.paper.figures)."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from nettime.paper.figures import draw_figure  # noqa: E402

record = snakemake.params.record
draw_figure(record["key"], record["files"], record["params"], snakemake.output.pdf,
            snakemake.output.tsv)
