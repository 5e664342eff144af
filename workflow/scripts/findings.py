"""Rule `findings`: the findings table, one row per claim, from the figures' numbers."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from nettime.paper.figures import write_findings  # noqa: E402

figures = snakemake.params.figures
write_findings(figures, {name: snakemake.input[name] for name in figures}, snakemake.output[0])
