"""Snakemake script: fit the CRF on validation predictions of the frozen network."""

import sys

import torch

from nettime.calls import fit_crf
from nettime.crf import save_crf
from nettime.files import atomic_output

sys.stderr = open(snakemake.log[0], "w")  # open for the whole job
torch.set_num_threads(snakemake.threads)
settings = snakemake.params.settings
crf = settings["crf"]
model, history = fit_crf(
    snakemake.input.predictions,
    snakemake.input.data,
    label_set=settings["label_set"],
    lr=crf["lr"],
    steps=crf["steps"],
    batch_size=crf["batch_size"],
    eval_every=crf["eval_every"],
    select_fraction=crf["select_fraction"],
    max_sequences=crf["max_sequences"],
    seed=crf["seed"],
    block_size=settings["block_size"],
)
with atomic_output(snakemake.output.log_table) as tmp:
    history.to_csv(tmp, sep="\t", index=False)
with atomic_output(snakemake.output.crf, suffix=".pt") as tmp:
    save_crf(model, tmp)
best = history[history["best"]].iloc[0]
print(f"best CRF at step {int(best['step'])}: selection NLL {best['select_nll']:.3f}; "
      f"{dict((k, v.tolist()) for k, v in model.state_dict().items())}", file=sys.stderr)
