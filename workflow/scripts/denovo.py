"""Rule `denovo_motifs`: de novo motifs under a condition's called sites and its conserved
ChIP-seq peaks, compared (nettime.evaluation.denovo)."""

import logging
import sys
from pathlib import Path

sys.stderr = open(snakemake.log[0], "w")
# The engine chosen (and why, when `auto` falls back) and streme's command go to the log.
logging.basicConfig(stream=sys.stderr, level=logging.INFO)

from nettime.evaluation.denovo import denovo_condition  # noqa: E402

denovo_condition(snakemake.wildcards.condition, snakemake.input.fasta, snakemake.input.sites,
                 snakemake.input.peaks, snakemake.input.examples,
                 Path(snakemake.output.table).parent, **snakemake.params.settings)
