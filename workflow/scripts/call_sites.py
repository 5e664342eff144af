"""Rule `call_sites`: per-base calls by threshold and CRF, and the called sites as BED."""

import sys

sys.stderr = open(snakemake.log[0], "w")

from nettime.calls.sites import build_calls  # noqa: E402

build_calls(snakemake.input.predictions, snakemake.input.data[0], snakemake.input.thresholds,
            snakemake.input.crf, snakemake.output.calls,
            {"threshold": snakemake.output.threshold_bed, "crf": snakemake.output.crf_bed},
            block_size=snakemake.params.settings["block_size"], threads=snakemake.threads)
