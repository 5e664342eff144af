"""Snakemake script of rules predict and predict_variant."""

import os

# Before torch loads OpenMP: idle threads sleep instead of spinning, which keeps two-thread
# jobs fast when other jobs share the cores (measured 6x faster under contention).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import sys  # noqa: E402

from nettime.predict import predict_split
from nettime.registry import training_settings

sys.stderr = open(snakemake.log[0], "a", buffering=1)

training = training_settings(snakemake.config)
predict_split(snakemake.input.model, snakemake.input.data, snakemake.output[0],
              snakemake.params.conditions, snakemake.wildcards.model, snakemake.wildcards.split,
              variant=snakemake.params.variant, batch_size=training["predict_batch_size"],
              device=training["device"], amp=training["amp"], threads=snakemake.threads,
              cpu_bf16=training["cpu_bf16_inference"])
