"""Rule `train_crf`: fit the CRF on validation predictions of the frozen network."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from nettime.calls.crf import build_crf  # noqa: E402

build_crf(snakemake.input.predictions, snakemake.input.data[0], snakemake.params.settings,
          snakemake.output.crf, snakemake.output.log_table, threads=snakemake.threads)
