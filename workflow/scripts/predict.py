"""Rules `predict` and `predict_variant`: a model's probabilities on a split."""

# Before torch loads: OpenMP wait policy, huge pages, portable kernels (nettime.cpu_env).
from nettime.cpu_env import set_cpu_env

set_cpu_env()

import sys  # noqa: E402

sys.stderr = open(snakemake.log[0], "a", buffering=1)

from nettime.baselines.kinds import predict_with_settings  # noqa: E402

predict_with_settings(snakemake.input.model, snakemake.input.data[0], snakemake.output[0],
                      snakemake.params.conditions, snakemake.wildcards.model,
                      snakemake.wildcards.split, snakemake.config,
                      variant=snakemake.params.variant, threads=snakemake.threads,
                      **({"embedding_cells": snakemake.params.embedding_cells}
                         if snakemake.params.embedding_cells is not None else {}))
