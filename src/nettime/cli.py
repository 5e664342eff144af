"""``nettime <verb>``: the pipeline's steps by hand, outside Snakemake.

Bad input ends with one line per problem on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from nettime import __version__, layout
from nettime.config import NAME_LIMIT, ConfigError, load_project, schema_defaults
from nettime.cpu_env import set_cpu_env
from nettime.files import DataError

DESCRIPTION = """\
The NetTIME pipeline's steps by hand, outside Snakemake. Snakemake runs them all in order
(`snakemake --cores N`); these verbs run one step, with the same configuration and defaults.
Bad input ends with one line per problem on stderr and exit status 2, never a traceback."""

EXAMPLES = """\
examples:
  nettime validate                                  check config/config.yaml and its sheets
  nettime validate --config config/tiny/config.yaml
  nettime simulate --config config/tiny/config.yaml --outdir resources/simulated
  nettime train multitask                           train (or resume) a model of the registry
  nettime predict multitask test                    predict the test split with it
  nettime encode resolve --config config/paper/config.yaml

`nettime VERB --help` describes a verb and its options."""

VALIDATE_HELP = f"""\
Check, before any work starts, everything the workflow checks when Snakemake reads it (the
same function runs in both, so "valid" here means that `snakemake` starts too):

  - the configuration: UTF-8 YAML, no key given twice, every key and value against the schema
    (workflow/schemas/config.schema.yaml), splits on known chromosomes without overlap;
  - both sample sheets (conditions, cell_features): tab-separated UTF-8, fields read
    literally (a quote is an ordinary character), a header and at least one row, known
    columns, valid names and accessions, no repeated rows, the same assays for every cell type;
  - names short enough to become file names (TF, cell type, model, feature set and panel
    names: at most {NAME_LIMIT} characters);
  - feature sets that exist and whose assays every cell type has; condition selectors whose
    TFs, cell types and panels are in the sheets; the experiments' panels and TF families;
  - every model of the registry and every figure plan (the models the figures generate);
  - the motifs: known JASPAR IDs, readable MEME files, a motif for each TF that needs one.

The sheet paths in the configuration (conditions, cell_features) are relative to the working
directory, not to the configuration file; a relative MEME path is tried against both.
Exit status 0 when valid, 2 with one line per problem ("file:line, row N, column 'c': ...")."""


class UsageError(Exception):
    """A problem with the user's input that deserves one clear line, not a traceback."""


def _validate(args: argparse.Namespace) -> int:
    from nettime.validate import check_project

    checked = check_project(args.config)
    project = checked.project
    print(f"{args.config}: valid ({len(project.conditions)} conditions, "
          f"{len(project.tfs)} TFs, {len(project.cell_types)} cell types, "
          f"{len(project.cell_features)} cell-type feature tracks, {len(checked.models)} "
          f"models, {len(checked.figures)} figures)")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from nettime.sources.simulate.common import parse_scale
    from nettime.sources.simulate.run import simulate

    project = load_project(args.config)
    try:
        scale = parse_scale(args.scale) if args.scale is not None else None
    except ValueError as exc:
        raise UsageError(f"--scale: {exc}") from None
    simulate(project, args.outdir, scale=scale, seed=args.seed, progress=not args.quiet)
    print(f"simulated data set written to {args.outdir}")
    return 0


# ---- binary calls and evaluation ---------------------------------------------------------------
def _calls_verb(run):
    """Run a calls/evaluation verb, turning bad predictions into one-line usage errors."""
    def wrapped(args: argparse.Namespace) -> int:
        from nettime.data.predictions import PredictionError

        try:
            return run(args)
        except PredictionError as error:
            raise UsageError(str(error)) from None
    return wrapped


def _classify_settings(args: argparse.Namespace) -> dict:
    """The ``classify:`` settings of the schema with the verb's options over them."""
    settings = schema_defaults()["classify"]
    settings["label_set"] = args.label_set
    for option, key in (("n_thresholds", "n_thresholds"), ("seed", "threshold_seed"),
                        ("bin_widths", "bin_widths")):
        if hasattr(args, option):
            settings[key] = getattr(args, option)
    for key in ("lr", "steps", "batch_size", "eval_every"):
        if hasattr(args, key):
            settings["crf"][key] = getattr(args, key)
    if hasattr(args, "lr"):
        settings["crf"]["seed"] = args.seed
    return settings


@_calls_verb
def _search_threshold(args: argparse.Namespace) -> int:
    from nettime.calls.thresholds import build_thresholds

    best, best_iou = build_thresholds(args.predictions, args.data, _classify_settings(args),
                                      args.out)
    print(f"best threshold {best:.6f}: IOU {best_iou:.4f} -> {args.out}")
    return 0


@_calls_verb
def _train_crf(args: argparse.Namespace) -> int:
    from nettime.calls.crf import build_crf

    history = build_crf(args.predictions, args.data, _classify_settings(args), args.out,
                        history_out=args.log)
    print(f"CRF (selection NLL {history['select_nll'].min():.3f}) -> {args.out}")
    return 0


@_calls_verb
def _call(args: argparse.Namespace) -> int:
    from nettime.calls.sites import build_calls

    build_calls(args.predictions, args.data, args.thresholds, args.crf, args.out,
                {"threshold": args.threshold_bed, "crf": args.crf_bed})
    print(f"calls -> {args.out}, {args.threshold_bed}, {args.crf_bed}")
    return 0


@_calls_verb
def _evaluate(args: argparse.Namespace) -> int:
    from nettime.evaluation.evaluate import write_evaluation

    table = write_evaluation(args.predictions, args.data, args.model, args.split,
                             _classify_settings(args), args.out, calls=args.calls)
    print(f"{len(table)} metric rows -> {args.out}")
    return 0


def _add_calls_verbs(verbs: argparse._SubParsersAction) -> None:
    # Defaults are the configuration's (`classify:` in the schema), so both agree.
    settings = schema_defaults()["classify"]
    crf = settings["crf"]

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--predictions", required=True,
                            help="predictions HDF5 (prob/{condition} float16)")
        parser.add_argument("--data", required=True, help="data set HDF5 of the same split")
        parser.add_argument("--label-set", default=settings["label_set"],
                            choices=list(layout.LABEL_SETS))

    verb = verbs.add_parser("search-threshold", help="best of n random thresholds by IOU")
    common(verb)
    verb.add_argument("--out", required=True, help="threshold table (TSV)")
    verb.add_argument("--n-thresholds", type=int, default=settings["n_thresholds"])
    verb.add_argument("--seed", type=int, default=settings["threshold_seed"])
    verb.set_defaults(func=_search_threshold)

    verb = verbs.add_parser("train-crf", help="fit the CRF on (validation) predictions")
    common(verb)
    verb.add_argument("--out", required=True, help="CRF parameters (.pt)")
    verb.add_argument("--log", help="training history (TSV)")
    for key, kind in (("lr", float), ("steps", int), ("batch_size", int), ("eval_every", int),
                      ("seed", int)):
        verb.add_argument(f"--{key.replace('_', '-')}", type=kind, default=crf[key],
                          help=f"config classify.crf.{key} (default: %(default)s)")
    verb.set_defaults(func=_train_crf)

    verb = verbs.add_parser("call", help="per-base calls (HDF5) and called sites (BED)")
    common(verb)
    verb.add_argument("--thresholds", required=True, help="table from search-threshold")
    verb.add_argument("--crf", required=True, help="CRF from train-crf")
    verb.add_argument("--out", required=True, help="calls HDF5")
    verb.add_argument("--threshold-bed", required=True)
    verb.add_argument("--crf-bed", required=True)
    verb.set_defaults(func=_call)

    verb = verbs.add_parser("evaluate", help="tidy per-condition metric table (TSV)")
    common(verb)
    verb.add_argument("--calls", help="calls HDF5 from `call` (IOU and transitions)")
    verb.add_argument("--model", required=True)
    verb.add_argument("--split", required=True)
    verb.add_argument("--bin-widths", type=int, nargs="*", default=settings["bin_widths"])
    verb.add_argument("--out", required=True)
    verb.set_defaults(func=_evaluate)


# ---- the ENCODE source -------------------------------------------------------------------------
def _encode_resolve(args: argparse.Namespace) -> int:
    from nettime.sources.encode.project import resolve_project

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    project = load_project(args.config)
    entries = resolve_project(project, args.resources, refresh=args.refresh or None,
                                     out=args.out)
    for entry in entries:
        print(f"{entry.key}\t{entry.role}\t{entry.experiment}\t{entry.accession}\t"
              f"{entry.output_type}\t{entry.note}")
    return 0


def _encode_download(args: argparse.Namespace) -> int:
    from nettime.sources.encode.lock import wanted_from_project
    from nettime.sources.encode.project import acquire

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    project = load_project(args.config)
    if args.key:
        if not args.role:
            raise UsageError("--key needs --role (conserved, relaxed, peaks, signal, genome or "
                             "blacklist)")
        pairs = [(args.key, args.role)]
    else:
        pairs = [(w.key, role) for w in wanted_from_project(project) for role in w.roles]
    for key, role in pairs:
        for path in acquire(project, key, role, args.resources, table=args.table):
            print(path)
    return 0


def _add_encode(verbs: argparse._SubParsersAction) -> None:
    encode = verbs.add_parser("encode", help="resolve and download ENCODE files (source: encode)")
    actions = encode.add_subparsers(dest="action", required=True, metavar="ACTION")
    resolve = actions.add_parser("resolve", help="resolve accessions and update the lock table")
    download = actions.add_parser("download", help="download and verify locked files")
    for sub in (resolve, download):
        sub.add_argument("--config", default="config/config.yaml",
                         help="configuration file (default: %(default)s)")
        sub.add_argument("--resources", default=layout.ENCODE,
                         help="acquisition directory (default: %(default)s)")
    resolve.add_argument("--refresh", action="store_true",
                         help="resolve every file afresh instead of reusing lock.tsv")
    resolve.add_argument("--out", help="also write this project's entries to this TSV")
    resolve.set_defaults(func=_encode_resolve)
    download.add_argument("--key", help="one condition (TF.cell), feature (cell.assay), "
                          "'genome' or 'blacklist'; default: every file of the project")
    download.add_argument("--role", help="the role of --key's file")
    download.add_argument("--table", help="lock table to read (default: RESOURCES/lock.tsv)")
    download.set_defaults(func=_encode_download)


# ---- models, training, prediction ---------------------------------------------------------------


def _registry_model(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """The configuration and every model spec (those the figures generate too); the model
    named on the command line must be one."""
    from nettime.paper.figures import model_registry

    project = load_project(args.config)
    specs = model_registry(project)
    if args.model not in specs:
        raise UsageError(f"unknown model {args.model!r}; models of {args.config}: "
                         f"{', '.join(specs) or 'none'}")
    return project, specs


def _train(args: argparse.Namespace) -> int:
    from nettime.models.fit import train_model
    from nettime.models.registry import vocabularies

    project, specs = _registry_model(args)
    spec = specs[args.model]
    init = (_under(args.results, layout.path("model_file", model=spec.init_from))
            if spec.init_from else None)
    result = train_model(spec, project.config,
                         _under(args.results, layout.path("data_set", split="train")),
                         _under(args.results, layout.path("data_set", split="valid")),
                         _under(args.results, layout.model_dir(spec.name)),
                         *vocabularies(specs, spec.name), init_path=init)
    print(f"{spec.name}: {result.steps} steps, best validation auPRC {result.best_auprc:.4g} "
          f"at step {result.best_step}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    from nettime.models.prediction import predict_with_settings
    from nettime.models.registry import average_train_cells, predictable

    project, specs = _registry_model(args)
    names = {"model": args.model, "split": args.split}
    out = _under(args.results, layout.path("variant_predictions", **names, variant=args.variant)
                 if args.variant else layout.path("predictions", **names))
    extra = ({"embedding_cells": average_train_cells(specs, args.model)}
             if args.variant == layout.AVERAGE_TRAIN else {})
    predict_with_settings(_under(args.results, layout.path("model_file", model=args.model)),
                          _under(args.results, layout.path("data_set", split=args.split)), out,
                          args.conditions or predictable(specs, args.model), args.model,
                          args.split, project.config, variant=args.variant, **extra)
    print(out)
    return 0


def _plan(args: argparse.Namespace) -> int:
    from nettime.plan import plan

    try:
        print(plan(args.config, args.gpu_train_rate, args.gpu_predict_rate, args.data))
    except RuntimeError as error:
        raise UsageError(str(error)) from None
    return 0


def _under(results: str, path: str) -> str:
    """A results path of :mod:`nettime.layout` under another results directory."""
    return os.path.join(results, os.path.relpath(path, layout.RESULTS))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nettime", description=DESCRIPTION, epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"nettime {__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    validate = verbs.add_parser("validate", help="check the configuration, its sheets, models, "
                                "figures and motifs before any work",
                                description=VALIDATE_HELP,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    validate.add_argument("--config", default="config/config.yaml",
                          help="configuration file (default: %(default)s)")
    validate.set_defaults(func=_validate)

    simulate = verbs.add_parser("simulate", help="make the simulated ENCODE-like data set")
    simulate.add_argument("--config", default="config/config.yaml",
                          help="configuration file (default: %(default)s)")
    simulate.add_argument("--scale", default=None,
                          help="tiny, demo, large or a genome length in bp "
                          "(default: simulation.scale of the config)")
    simulate.add_argument("--seed", type=int, default=None,
                          help="random seed (default: simulation.seed of the config)")
    simulate.add_argument("--outdir", default=layout.SIMULATED,
                          help="output folder (default: %(default)s)")
    simulate.add_argument("--quiet", action="store_true", help="no progress display")
    simulate.set_defaults(func=_simulate)
    _add_calls_verbs(verbs)
    _add_encode(verbs)
    train = verbs.add_parser("train", help="train (or resume, or fine-tune) a model of the "
                             "registry (config models:)")
    train.add_argument("model", help="model name")
    train.add_argument("--config", default="config/config.yaml")
    train.add_argument("--results", default=layout.RESULTS, help="results directory")
    train.set_defaults(func=_train)

    predict = verbs.add_parser("predict", help="predict a split with a trained model")
    predict.add_argument("model", help="model name")
    predict.add_argument("split", choices=list(layout.SPLITS))
    predict.add_argument("--conditions", nargs="+", help="TF.cell names (default: the "
                         "model's 'predict' selector); any known TF with any known cell type")
    predict.add_argument("--variant", choices=list(layout.PREDICTION_VARIANTS),
                         help="replace trained embeddings by random vectors (Fig 4a), or "
                         "average_train: the embeddings of the TF's other trained cell types, "
                         "averaged (Fig 5)")
    predict.add_argument("--config", default="config/config.yaml")
    predict.add_argument("--results", default=layout.RESULTS, help="results directory")
    predict.set_defaults(func=_predict)

    planned = verbs.add_parser(
        "plan", help="jobs, device hours, memory and disk of a configuration's whole run",
        description="Ask Snakemake for every job of a full run of the configuration (a dry "
        "run: offline) and size each rule's jobs from the work they do and from rates measured "
        "by this project's benchmarks (each rate's source is printed). GPU rates are not "
        "guessed: pass yours.")
    planned.add_argument("--config", default="config/config.yaml",
                         help="configuration file (default: %(default)s)")
    planned.add_argument("--gpu-train-rate", type=float, default=None,
                         help="training samples/s of one GPU job (benchmarks/model_throughput.py "
                         "--device cuda --modes train_amp on your GPU)")
    planned.add_argument("--gpu-predict-rate", type=float, default=None,
                         help="prediction samples/s of one GPU job (--modes infer_amp)")
    planned.add_argument("--data", default="results/data",
                         help="data sets to count examples in (default: %(default)s; the paper's "
                         "counts when absent)")
    planned.set_defaults(func=_plan)
    return parser


def _encode_error() -> type[Exception]:
    from nettime.sources.encode.settings import EncodeError

    return EncodeError


def main(argv: Sequence[str] | None = None) -> int:
    # Before torch loads (train/predict import it lazily).
    set_cpu_env()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    except (UsageError, DataError, FileNotFoundError, _encode_error(), ValueError,
            RuntimeError, KeyError) as error:
        # ModelError, TrainingError and the data set's errors derive from these. Set
        # NETTIME_DEBUG=1 to see the traceback of an error that is a bug, not bad input.
        if os.environ.get("NETTIME_DEBUG"):
            raise
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
