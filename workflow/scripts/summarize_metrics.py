"""Snakemake script: mean, SD and SEM across conditions, and paired Wilcoxon tests."""

import sys

import pandas as pd

from nettime.evaluation import wilcoxon_table
from nettime.files import atomic_output
from nettime.metrics import summarize

sys.stderr = open(snakemake.log[0], "w")  # open for the whole job
table = pd.read_csv(snakemake.input.table, sep="\t")
with atomic_output(snakemake.output.summary) as tmp:
    summarize(table).to_csv(tmp, sep="\t", index=False)
with atomic_output(snakemake.output.wilcoxon) as tmp:
    wilcoxon_table(table).to_csv(tmp, sep="\t", index=False)
