"""Snakemake script of rule train_model: train or fine-tune one registry model."""

# Before torch loads: OpenMP wait policy and huge-page allocations (see nettime.cpu_env).
from nettime.cpu_env import set_cpu_env

set_cpu_env()

import sys  # noqa: E402

import yaml  # noqa: E402

from nettime.files import atomic_output  # noqa: E402
from nettime.registry import ModelSpec, training_settings  # noqa: E402
from nettime.training import train_model  # noqa: E402

sys.stderr = open(snakemake.log[0], "a", buffering=1)

params = snakemake.params.model
spec = ModelSpec(**{**params["spec"], "conditions": tuple(params["spec"]["conditions"]),
                    "predict": ()})
config = {**snakemake.config, "training": {**training_settings(snakemake.config),
                                           "threads": snakemake.threads}}
init = snakemake.input.init[0] if snakemake.input.init else None
# A killed job leaves checkpoint.pt beside the outputs; the rerun continues from it.
result = train_model(spec, config, snakemake.input.train, snakemake.input.valid,
                     snakemake.output.model.rsplit("/", 1)[0], params["tf_vocab"],
                     params["cell_vocab"], init_path=init)
summary = {"steps": result.steps, "best_step": result.best_step,
           "best_valid_auprc": result.best_auprc, "stopped_early": result.stopped_early}
with atomic_output(snakemake.output.spec) as tmp, open(tmp, "w") as handle:
    yaml.safe_dump({**params["spec"], "tf_vocab": params["tf_vocab"],
                    "cell_vocab": params["cell_vocab"], "result": summary},
                   handle, sort_keys=False)
