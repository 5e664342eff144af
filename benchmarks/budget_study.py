"""How the base model's claims move with its training budget (config/budget_study.yaml).

Prints, for the default's base model (150 steps of 32) and its 4x and 16x versions, the test
auPRC, the Fig 4a effect of random embeddings at prediction time and the Fig 4c family
distances, each judged as in results/findings.tsv. ``--targets`` prints the files to build.
Run from the repository root after the default run and the targets of ``--targets``.
"""

from __future__ import annotations

import argparse
import os
import tempfile

import yaml

from nettime import layout
from nettime.layout import RANDOM_EMBEDDING_VARIANTS
from nettime.paper import draw, findings

STUDY = "config/budget_study.yaml"


def study_models(config: dict) -> dict[str, dict]:
    """The base model and the study's models -> their budgets (the study's over the default's)."""
    with open(STUDY) as handle:
        study = yaml.safe_load(handle)["models"]
    default = config["training"]["defaults"]["budget"]
    base = config["experiments"]["base_model"]
    return {base: default, **{name: {**default, **spec.get("budget", {})}
                              for name, spec in study.items()}}


def metric_files(model: str) -> dict[str, str]:
    """The test metric table of a model (``trained``) and of its prediction variants."""
    return {kind: layout.path("metrics_of", model=model, split="test", kind=kind)
            for kind in ("probability", *RANDOM_EMBEDDING_VARIANTS)}


def targets(config: dict) -> list[str]:
    files = []
    for model in study_models(config):
        files += list(metric_files(model).values())
        files.append(layout.path("model_embeddings", model=model))
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", action="store_true", help="print the files to build")
    parser.add_argument("--config", default="config/config.yaml")
    args = parser.parse_args()
    with open(args.config) as handle:
        config = yaml.safe_load(handle)
    if args.targets:
        print(" ".join(targets(config)))
        return
    families = {tf: family for family, tfs in config["experiments"]["families"].items()
                for tf in tfs}
    with tempfile.TemporaryDirectory() as scratch:
        for model, budget in study_models(config).items():
            metrics = metric_files(model)
            trained = metrics.pop("probability")
            table = draw.draw_embeddings_at_prediction(
                {"trained": trained, "variants": metrics}, {},
                os.path.join(scratch, f"{model}.pdf"), os.path.join(scratch, f"{model}.tsv"))
            auprc = draw.auprc(trained)["auprc"].mean()
            at_prediction = findings.random_at_prediction_hurts(table)
            weights, names = draw.read_embeddings(layout.path("model_embeddings", model=model))
            family = findings.related_tfs_are_closer(weights, names, families)
            print(f"{model} ({budget['steps']} steps of {budget['batch_size']}): test auPRC "
                  f"{auprc:.3f}\n"
                  f"  Fig 4a: {at_prediction['measured']}; p(both) "
                  f"{at_prediction['p_value']:.2g}; holds: {at_prediction['holds']}\n"
                  f"  Fig 4c: {family['measured']}; p {family['p_value']:.2g}; "
                  f"holds: {family['holds']}")


if __name__ == "__main__":
    main()
