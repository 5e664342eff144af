"""``nettime <verb>``: the pipeline's steps by hand, outside Snakemake.

Bad input ends with one line per problem on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from nettime import __version__
from nettime.config import ConfigError, load_project


class UsageError(Exception):
    """A problem with the user's input that deserves one clear line, not a traceback."""


def _validate(args: argparse.Namespace) -> int:
    project = load_project(args.config)
    print(f"{args.config}: valid ({len(project.conditions)} conditions, "
          f"{len(project.tfs)} TFs, {len(project.cell_types)} cell types, "
          f"{len(project.cell_features)} cell-type feature tracks)")
    return 0


# ---- models, training, prediction (issue 5) --------------------------------------------------


def _train(args: argparse.Namespace) -> int:
    from nettime.registry import model_specs, vocabularies
    from nettime.training import train_model

    project = load_project(args.config)
    specs = model_specs(project)
    if args.model not in specs:
        raise UsageError(f"unknown model {args.model!r}; models in {args.config}: "
                         f"{', '.join(specs) or 'none'}")
    spec = specs[args.model]
    init = f"{args.results}/models/{spec.init_from}/model.pt" if spec.init_from else None
    result = train_model(spec, project.config, f"{args.results}/data/train.h5",
                         f"{args.results}/data/valid.h5", f"{args.results}/models/{spec.name}",
                         *vocabularies(specs, spec.name), init_path=init)
    print(f"{spec.name}: {result.steps} steps, best validation auPRC {result.best_auprc:.4g} "
          f"at step {result.best_step}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    from nettime.predict import predict_split
    from nettime.registry import model_specs, predictable, training_settings

    project = load_project(args.config)
    specs = model_specs(project)
    if args.model not in specs:
        raise UsageError(f"unknown model {args.model!r}; models in {args.config}: "
                         f"{', '.join(specs) or 'none'}")
    training = training_settings(project.config)
    suffix = f".{args.variant}" if args.variant else ""
    out = f"{args.results}/predictions/{args.model}/{args.split}{suffix}.h5"
    predict_split(f"{args.results}/models/{args.model}/model.pt",
                  f"{args.results}/data/{args.split}.h5", out,
                  args.conditions or predictable(specs, args.model), args.model, args.split,
                  variant=args.variant, batch_size=training["predict_batch_size"],
                  device=training["device"], amp=training["amp"], threads=training["threads"],
                  cpu_bf16=training["cpu_bf16_inference"])
    print(out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nettime", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"nettime {__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    validate = verbs.add_parser("validate", help="check config.yaml and both sample sheets")
    validate.add_argument("--config", default="config/config.yaml",
                          help="configuration file (default: %(default)s)")
    validate.set_defaults(func=_validate)

    train = verbs.add_parser("train", help="train (or resume, or fine-tune) a model of the "
                             "registry (config 'models:')")
    train.add_argument("model", help="model name")
    train.add_argument("--config", default="config/config.yaml")
    train.add_argument("--results", default="results", help="results directory")
    train.set_defaults(func=_train)

    predict = verbs.add_parser("predict", help="predict a split with a trained model")
    predict.add_argument("model", help="model name")
    predict.add_argument("split", choices=["train", "valid", "test"])
    predict.add_argument("--conditions", nargs="+", help="TF.cell names (default: the "
                         "model's 'predict' selector); any known TF with any known cell type")
    predict.add_argument("--variant", choices=["random_tf", "random_cell", "random_both"],
                         help="replace trained embeddings by random vectors (Fig 4a)")
    predict.add_argument("--config", default="config/config.yaml")
    predict.add_argument("--results", default="results", help="results directory")
    predict.set_defaults(func=_predict)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Before torch loads OpenMP (train/predict import it lazily): idle threads sleep rather
    # than spin, which matters on shared cores.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    except (UsageError, FileNotFoundError, ValueError, RuntimeError, KeyError) as error:
        # ModelError, TrainingError and the data set's errors derive from these.
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
