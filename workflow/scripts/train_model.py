"""Rule `train_model`: train or fine-tune one registry model (a killed job resumes from the
checkpoint it left)."""

# Before torch loads: OpenMP wait policy, huge pages, portable kernels (nettime.cpu_env).
from nettime.cpu_env import set_cpu_env

set_cpu_env()

import sys  # noqa: E402

sys.stderr = open(snakemake.log[0], "a", buffering=1)

from nettime.baselines.kinds import train_registry_model  # noqa: E402

train_registry_model(snakemake.params.model, snakemake.config, snakemake.input.train[0],
                     snakemake.input.valid[0], snakemake.input.init[0] if snakemake.input.init
                     else None, snakemake.output.model, snakemake.output.spec,
                     threads=snakemake.threads)
