"""Rule `dream_predict`: a model's probabilities over the genome-wide tiles, by its own
predictor, reduced to block maxima condition by condition."""

# Before torch loads: OpenMP wait policy, huge pages, portable kernels (nettime.cpu_env).
from nettime.cpu_env import set_cpu_env

set_cpu_env()

import sys  # noqa: E402

sys.stderr = open(snakemake.log[0], "a", buffering=1)

from nettime.evaluation.genome_wide import predict_maxima  # noqa: E402

predict_maxima(snakemake.input.model, snakemake.input.data[0], snakemake.output[0],
               snakemake.params.conditions, snakemake.wildcards.model, snakemake.config,
               threads=snakemake.threads)
