"""Rule `reference_scores`: the untrained scores' auPRC per condition on one split."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from nettime.evaluation.reference import write_reference_scores  # noqa: E402

sites = snakemake.input.get("sites") or []
write_reference_scores(snakemake.input.data[0], snakemake.wildcards.split,
                       snakemake.params.conditions, snakemake.output.table,
                       true_sites=dict(zip(snakemake.params.conditions, sites, strict=True))
                       if sites else None)
