"""Rule `summarize_metrics`: mean, SD and SEM across conditions, and paired Wilcoxon tests."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from nettime.evaluation.statistics import write_summaries  # noqa: E402

write_summaries(snakemake.input.table, snakemake.output.summary, snakemake.output.wilcoxon)
