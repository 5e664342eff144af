"""Snakemake script of rules predict and predict_variant."""

# Before torch loads: OpenMP wait policy and huge-page allocations (see nettime.cpu_env).
from nettime.cpu_env import set_cpu_env

set_cpu_env()

import sys  # noqa: E402

from nettime.predict import predict_split  # noqa: E402
from nettime.registry import training_settings  # noqa: E402

sys.stderr = open(snakemake.log[0], "a", buffering=1)

training = training_settings(snakemake.config)
predict_split(snakemake.input.model, snakemake.input.data, snakemake.output[0],
              snakemake.params.conditions, snakemake.wildcards.model, snakemake.wildcards.split,
              variant=snakemake.params.variant, batch_size=training["predict_batch_size"],
              device=training["device"], amp=training["amp"], threads=snakemake.threads,
              cpu_bf16=training["cpu_bf16_inference"])
