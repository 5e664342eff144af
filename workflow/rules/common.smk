# Shared by every rule file: the validated configuration, the model and figure registries, and
# input functions. Every path comes from nettime.layout; library code lives in src/nettime.
import os
import sys

from nettime import layout
from nettime.config import ConfigError, load_project
from nettime.models.registry import (
    model_specs,
    predictable,
    training_settings,
    vocabularies,
)
from nettime.paper.experiments import families
from nettime.paper.figures import caption, figure_models, plan_figures, plan_record


def _stop(title, error):
    # Bad input stops here, before any job, with one line per problem and no traceback.
    print(f"{title} ({len(error.problems)} problem(s)):", file=sys.stderr)
    for problem in error.problems:
        print(f"  {problem}", file=sys.stderr)
    sys.stderr.flush()
    sys.exit(1)


def _load():
    config_path = (workflow.overwrite_configfiles or ["config/config.yaml"])[-1]
    try:
        project = load_project(config_path, config=config)
        if project.source == "simulated":
            # An unknown JASPAR ID or unreadable MEME file stops here, before any job.
            from nettime.sources.simulate.common import panel_motifs

            panel_motifs(project)
        # The paper's experiments add the models their figures need to the registry.
        generated = figure_models(project)
        project.config["models"] = {**(project.config.get("models") or {}), **generated}
        return project, list(generated), model_specs(project), plan_figures(project)
    except ConfigError as error:
        _stop("Invalid configuration", error)


PROJECT, EXPERIMENT_MODELS, MODELS, FIGURES = _load()
SOURCE = PROJECT.source
CONDITIONS = PROJECT.condition_names()
CELL_ASSAYS = list(
    zip(PROJECT.cell_features["cell_type"], PROJECT.cell_features["assay"])
)
TRAINING = training_settings(config)
#: The model whose predictions, tracks and calls the default run makes.
DEFAULT_MODEL = "multitask"


# ---- acquired data: the same layout for every source -----------------------------------------
def acquired_data():
    """Every acquired file of the configured panel."""
    fasta = layout.genome_fasta(SOURCE)
    files = [
        fasta,
        fasta + ".fai",
        layout.chrom_sizes(SOURCE),
        layout.blacklist(SOURCE),
    ]
    for condition in CONDITIONS:
        files += [
            layout.condition_peaks(SOURCE, condition, s) for s in layout.LABEL_SETS
        ]
    for cell, assay in CELL_ASSAYS:
        files += [
            layout.feature_peaks(SOURCE, cell, assay),
            layout.feature_signal(SOURCE, cell, assay),
        ]
    return files


def peak_files():
    """Conserved and relaxed peaks of every condition."""
    return [
        layout.condition_peaks(SOURCE, c, s)
        for c in CONDITIONS
        for s in layout.LABEL_SETS
    ]


# ---- data sets -------------------------------------------------------------------------------
def inpeak_signals():
    return [layout.inpeak_signal(cell, assay) for cell, assay in CELL_ASSAYS]


def motif_specs():
    """TF -> motif of the TFs that get motif channels: all, when a feature set uses motifs."""
    if not any(s.get("motifs") for s in PROJECT.config["feature_sets"].values()):
        return {}
    motifs = PROJECT.config["motifs"]
    return {tf: motifs[tf] for tf in PROJECT.tfs if tf in motifs}


def normalisation_stats(wildcards):
    """Statistics a split is z-scored with: the training split's, or its own (per_split)."""
    per_split = PROJECT.config["normalisation"] == "per_split"
    return layout.feature_stats(wildcards.split if per_split else "train")


# ---- models ----------------------------------------------------------------------------------
def model_files(model, splits=("valid", "test"), variants=(), tracks=False):
    """Files of one model: the trained model, its predictions on ``splits`` (and
    prediction-time variants), optionally its test-split bigWig tracks."""
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; models: {', '.join(MODELS)}")
    files = [
        layout.model_file(model),
        layout.model_log(model),
        layout.model_spec(model),
    ]
    files += [layout.predictions(model, s) for s in splits]
    files += [layout.predictions(model, s, v) for s in splits for v in variants]
    if tracks:
        known = predictable(MODELS, model)
        files += [
            layout.track(model, c) for c in MODELS[model].conditions if c in known
        ]
    return files


def model_init(wildcards):
    """model.pt of the model a spec fine-tunes, or nothing for a scratch model."""
    base = MODELS[wildcards.model].init_from
    return [layout.model_file(base)] if base else []


def model_training_params(model):
    """What training depends on (the `predict` selector is left out: it does not retrain)."""
    spec = MODELS[model].to_dict()
    spec.pop("predict")
    tfs, cells = vocabularies(MODELS, model)
    return {"spec": spec, "tf_vocab": tfs, "cell_vocab": cells}


def gpu_resources():
    """resources: a GPU request unless the configured device is the CPU."""
    return {} if TRAINING["device"] == "cpu" else {"gpu": TRAINING["gpus"]}


def user_models():
    """Models of config `models:` (those the figures generate are asked for by them)."""
    return [m for m in MODELS if m not in EXPERIMENT_MODELS]


def evaluation_files(split="test"):
    """Calls (BED), metric tables, summaries and Wilcoxon tests of every user model."""
    files = []
    for model in user_models():
        files += [layout.called_sites(model, split, m) for m in ("threshold", "crf")]
        files += [
            layout.metrics(model, split, kind) for kind in (None, "summary", "wilcoxon")
        ]
    return files


# ---- figures ---------------------------------------------------------------------------------
def figure_input(name):
    """A figure's files and its models' checkpoints: a deleted model is retrained and the
    figure redrawn (a metric file alone would hide it)."""
    figure, plan = FIGURES[name]
    return flat_paths(plan.files) + [layout.model_file(m) for m in plan.models]


def flat_paths(files):
    """Every path of a nested mapping of paths."""
    if isinstance(files, str):
        return [files]
    return [path for value in files.values() for path in flat_paths(value)]


def figure_files():
    """Every planned figure, its numbers and the findings table."""
    files = []
    for name in FIGURES:
        files += [layout.figure_pdf(name), layout.figure_tsv(name)] + figure_input(name)
    return list(dict.fromkeys(files)) + ([layout.findings()] if FIGURES else [])


# ---- what `snakemake` with no target builds ----------------------------------------------------
def all_targets():
    """Every output of the default run: data, models, calls, metrics and figures."""
    targets = acquired_data()
    if SOURCE == "simulated":
        targets += simulated_files()
    targets += [layout.data_set(split) for split in layout.SPLITS]
    if DEFAULT_MODEL in MODELS:
        targets += model_files(DEFAULT_MODEL, tracks=True)
    targets += evaluation_files("test")
    targets += figure_files()
    return targets
