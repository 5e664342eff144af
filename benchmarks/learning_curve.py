"""How much the base model learns per CPU-second: test auPRC against training CPU time.

Trains the default configuration's base model (its spec from the registry) with one lever
changed at a time (learning rate, width, batch, steps, the share of bound samples, the seed,
the motif channels of Seq+CT+TF) on a finished default run's data sets, predicts the test
split, and prints per setting: training steps and samples, training CPU
seconds (this process, one thread, the default jobs' setting), mean test auPRC at 1 bp over
the base model's conditions, and its ratio to the best untrained score of each condition
(``results/metrics/reference.test.tsv``: the DNase z-score, the sum of assays, the motif
channel) and to the oracle of the true binding. The loss and the architecture stay NetTIME's.

    snakemake --cores 2                       # the default run (data sets, reference table)
    python benchmarks/learning_curve.py       # every setting
    python benchmarks/learning_curve.py --settings default uniform seed2 uniform_seed2

Each setting trains from scratch in its own folder under ``--out``; a finished one is not
retrained (the training loop says "nothing to do"), so a killed study resumes.
"""

from __future__ import annotations

import argparse
import copy
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

#: Setting -> changes to the base model's spec (sizes and budget are merged key by key).
SETTINGS: dict[str, dict] = {
    "default": {},
    "uniform": {"budget": {"bound_fraction": None}},
    "seed2": {"seed": 2},
    "uniform_seed2": {"seed": 2, "budget": {"bound_fraction": None}},
    "seq_ct_tf": {"feature_set": "Seq+CT+TF"},
    "seq_ct_tf_steps300": {"feature_set": "Seq+CT+TF",
                           "budget": {"steps": 300, "eval_every": 100}},
    "seq_ct_tf_steps600": {"feature_set": "Seq+CT+TF",
                           "budget": {"steps": 600, "eval_every": 100}},
    "uniform_seq_ct_tf_steps600": {"feature_set": "Seq+CT+TF", "budget": {
        "steps": 600, "eval_every": 100, "bound_fraction": None}},
    "lr3e-3": {"budget": {"lr": 3e-3}},
    "lr1e-2": {"budget": {"lr": 1e-2}},
    "width16": {"sizes": {"embedding_dim": 16}},
    "batch64": {"budget": {"batch_size": 64}},
    "steps40": {"budget": {"steps": 40, "eval_every": 20}},
    "steps150": {"budget": {"steps": 150, "eval_every": 50}},
    "steps600": {"budget": {"steps": 600, "eval_every": 100}},
    "lr3e-3_steps600": {"budget": {"lr": 3e-3, "steps": 600, "eval_every": 100}},
    "steps2400": {"budget": {"steps": 2400, "eval_every": 200}},
    "steps9600": {"budget": {"steps": 9600, "eval_every": 400}},
}


def merged(spec: dict, changes: dict) -> dict:
    out = copy.deepcopy(spec)
    for key, value in changes.items():
        if isinstance(value, dict):
            out[key] = {**(out.get(key) or {}), **value}
        else:
            out[key] = value
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="config/config.yaml")
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--out", type=Path, default=Path("results/learning_curve"))
    args = parser.parse_args()

    from nettime.cpu_env import set_cpu_env

    set_cpu_env()
    import torch

    from nettime import layout
    from nettime.config import load_project
    from nettime.evaluation.evaluate import evaluate_split
    from nettime.models.fit import train_model
    from nettime.models.prediction import predict_split
    from nettime.models.registry import model_specs, vocabularies
    from nettime.paper.experiments import base_model

    torch.set_num_threads(1)
    project = load_project(args.config)
    base, raw = base_model(project)
    reference = pd.read_csv(layout.path("reference_metrics", split="test"), sep="\t")
    free = reference[reference["method"].isin(["dnase", "assays_sum", "motif"])]
    best_free = free.groupby("condition")["value"].max()
    oracle = reference[reference["method"] == "oracle"].set_index("condition")["value"]
    data = {s: layout.path("data_set", split=s) for s in ("train", "valid", "test")}
    print(f"base model {base!r}; CPU {os.cpu_count()} logical; load {os.getloadavg()[0]:.2f}")
    print(f"{'setting':<18s} {'steps':>6s} {'samples':>8s} {'train CPU s':>11s} "
          f"{'auPRC':>6s} {'/best free':>10s} {'/oracle':>8s}")
    for name in args.settings:
        variant = copy.deepcopy(project)
        variant.config["models"] = {base: merged(raw, SETTINGS[name])}
        config = variant.config
        specs = model_specs(variant)
        spec = specs[base]
        tfs, cells = vocabularies(specs, base)
        folder = args.out / name
        cpu = time.process_time()
        result = train_model(spec, config, data["train"], data["valid"], folder, tfs, cells,
                             progress=False)
        cpu = time.process_time() - cpu
        record = folder / "train_cpu_seconds.txt"
        if record.exists():  # trained by an earlier invocation: its measured time
            cpu = float(record.read_text())
        else:
            record.write_text(f"{cpu:.1f}\n")
        predictions = folder / "test.h5"
        if not predictions.exists():
            predict_split(folder / "model.pt", data["test"], predictions, list(spec.conditions),
                          name, "test", device="cpu", progress=False)
        table = evaluate_split(predictions, data["test"], name, "test", bin_widths=[],
                               centre_widths=[], progress=False)
        scores = table[(table["metric"] == "auprc") & (table["resolution"] == 1)
                       & (table["method"] == "probability")].set_index("condition")["value"]
        ratio_free = float((scores / best_free.reindex(scores.index)).mean())
        ratio_oracle = float((scores / oracle.reindex(scores.index)).mean()) if len(oracle) \
            else float("nan")
        samples = result.steps * int(spec.budget["batch_size"])
        print(f"{name:<18s} {result.steps:>6d} {samples:>8d} {cpu:>11.0f} "
              f"{np.nanmean(scores):>6.3f} {ratio_free:>10.2f} {ratio_oracle:>8.2f}",
              flush=True)


if __name__ == "__main__":
    main()
