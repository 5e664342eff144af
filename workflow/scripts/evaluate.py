"""Rules `evaluate`, `evaluate_probability` and `evaluate_variant`: the tidy metric table of one
model's predictions on one split."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from nettime.evaluation.evaluate import write_evaluation  # noqa: E402

write_evaluation(snakemake.input.predictions, snakemake.input.data[0], snakemake.wildcards.model,
                 snakemake.wildcards.split, snakemake.params.settings, snakemake.output.table,
                 calls=snakemake.input.get("calls"),  # absent without calls
                 score_method=snakemake.wildcards.get("variant", "probability"))
