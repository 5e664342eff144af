# Shared by the rules of every file: the validated configuration, the model and figure registries, and
# input functions. Every path comes from nettime.layout; library code lives in src/nettime.
import os
import sys

from nettime.cpu_env import CpuEnvError, set_cpu_env

# Before numpy or torch loads, here or in any job (jobs inherit this environment): OpenMP wait
# policy, huge pages, and the same kernels on every x86-64 CPU with AVX2 (nettime.cpu_env).
try:
    set_cpu_env()
except CpuEnvError as error:
    sys.exit(f"Invalid environment: {error}")

from nettime import layout
from nettime.config import ConfigError, load_project, split_condition
from nettime.data.dataset import feature_sets_from_config, input_files
from nettime.models.registry import (
    average_train_cells,
    predictable,
    training_settings,
    vocabularies,
)
from nettime.paper.experiments import new_conditions, supervised_conditions
from nettime.paper.figures import caption, model_registry, plan_figures, plan_record
from nettime.paper.transfer import new_section, new_targets, tuned_name
from nettime.sources.simulate.portal import portal_json_paths


def _stop(title, error):
    # Bad input stops here, before any job, with one line per problem and no traceback.
    print(f"{title} ({len(error.problems)} problem(s)):", file=sys.stderr)
    for problem in error.problems:
        print(f"  {problem}", file=sys.stderr)
    sys.stderr.flush()
    sys.exit(1)


def _load():
    # The checks of `nettime validate` (nettime.validate.check_project): configuration, sheets,
    # names, models, figures and motifs, before any job; a bad `--config key=value` is
    # reported as the command line's.
    from nettime.validate import check_project

    config_path = str((workflow.overwrite_configfiles or ["config/config.yaml"])[-1])
    if not os.path.relpath(config_path).startswith(".."):
        config_path = os.path.relpath(config_path)
    try:
        checked = check_project(
            config_path, config=config, overrides=workflow.config_settings.config
        )
    except ConfigError as error:
        _stop("Invalid configuration", error)
    return checked.project, checked.user_models, checked.models, checked.figures


PROJECT, USER_MODELS, MODELS, FIGURES = _load()
SOURCE = PROJECT.source
CONDITIONS = PROJECT.condition_names()
NEW_CONDITIONS = new_conditions(PROJECT)
CELL_ASSAYS = list(
    zip(PROJECT.cell_features["cell_type"], PROJECT.cell_features["assay"])
)
TRAINING = training_settings(config)
#: The model whose predictions, tracks and calls the default run makes.
DEFAULT_MODEL = "multitask"


# ---- acquired data: the same layout for every source -----------------------------------------
def acquired_data():
    """Every acquired file of the configured panel."""
    fasta = layout.path("genome", source=SOURCE)
    files = [
        fasta,
        f"{fasta}.fai",
        layout.path("chrom_sizes", source=SOURCE),
        layout.path("blacklist", source=SOURCE),
    ]
    for condition in CONDITIONS:
        files += [
            layout.path(
                "condition_peaks", source=SOURCE, condition=condition, label_set=s
            )
            for s in layout.LABEL_SETS
        ]
    for cell, assay in CELL_ASSAYS:
        files += [
            layout.path("feature_peaks", source=SOURCE, cell=cell, assay=assay),
            layout.path("feature_signal", source=SOURCE, cell=cell, assay=assay),
        ]
    return files


def peak_files():
    """Conserved and relaxed peaks of every condition."""
    return [
        layout.path("condition_peaks", source=SOURCE, condition=c, label_set=s)
        for c in CONDITIONS
        for s in layout.LABEL_SETS
    ]


SIM_WORLD = layout.simulated_world()


def simulated_files():
    """Simulated-only outputs: ground truth per condition and the portal metadata."""
    files = list(SIM_WORLD.values())
    files += [
        layout.path("simulated_sites", condition=condition) for condition in CONDITIONS
    ]
    files += [layout.path("simulated_portal_table")]
    files += [f"{layout.SIMULATED}/{path}" for path in portal_json_paths(PROJECT)]
    return files


def encode_pins(kind, key):
    """The accessions a sheet row pins, as a param (a change reruns the download)."""
    if kind == "condition":
        frame, names = PROJECT.conditions, list(PROJECT.conditions["condition"])
        columns = ["experiment", "conserved_file", "relaxed_file"]
    else:
        frame = PROJECT.cell_features
        names = [f"{c}.{a}" for c, a in zip(frame["cell_type"], frame["assay"])]
        columns = ["experiment", "peaks_file", "signal_file"]
    if key not in names:
        return ""
    row = frame.iloc[names.index(key)]
    return ",".join(str(row[c]) for c in columns)


def simulation_folder(wildcards, output):
    """resources/simulated, from an output path (resources/simulated/<stage>/<file>)."""
    return os.path.dirname(os.path.dirname(output[0]))


# ---- data sets -------------------------------------------------------------------------------
def example_peak_files():
    """The peaks whose pooled, merged intervals make the example windows: those of the
    supervised panels (train, heldout). Conditions beyond the panel (new) are labelled on the
    same windows, so adding one changes no example and retrains no model."""
    return [
        layout.path("condition_peaks", source=SOURCE, condition=c, label_set=s)
        for c in supervised_conditions(PROJECT)
        for s in layout.LABEL_SETS
    ]


FEATURE_SETS = feature_sets_from_config(PROJECT.config)


def data_files(split, conditions=(), feature_set=None, labels=True):
    """The files of a split's data set that a job over ``conditions`` reads (see
    nettime.data.dataset.input_files)."""
    features = FEATURE_SETS[feature_set] if feature_set is not None else None
    return input_files(
        layout.path("data_set", split=split), conditions, features, labels
    )


def data_set_files():
    """Every file of every split's data set."""
    motifs = any(f.motifs for f in FEATURE_SETS.values())
    files = []
    for split in layout.SPLITS:
        files.append(layout.path("data_examples", split=split))
        files += [
            layout.path("data_labels", split=split, condition=c) for c in CONDITIONS
        ]
        files += [
            layout.path("data_signal", split=split, cell=cell, assay=assay)
            for cell, assay in CELL_ASSAYS
        ]
        if motifs:
            files += [
                layout.path("data_motifs", split=split, tf=tf)
                for tf in PROJECT.tfs
                if tf in PROJECT.config["motifs"]
            ]
    return files


def training_data(split):
    """Input function: the data a model trains (or validates) on."""

    def files(wildcards):
        spec = MODELS[wildcards.model]
        return data_files(split, spec.conditions, spec.feature_set)

    return files


def prediction_data(wildcards):
    """Input function: the inputs of the conditions a model predicts (no labels)."""
    spec = MODELS[wildcards.model]
    conditions = predictable(MODELS, wildcards.model)
    return data_files(wildcards.split, conditions, spec.feature_set, labels=False)


def scoring_data(split=None):
    """Input function: the examples and labels of the conditions a model predicts."""

    def files(wildcards):
        return data_files(
            split or wildcards.split, predictable(MODELS, wildcards.model)
        )

    return files


# ---- models ----------------------------------------------------------------------------------
def model_files(model, splits=("valid", "test"), variants=(), tracks=False):
    """Files of one model: the trained model, its predictions on ``splits`` (and
    prediction-time variants), optionally its test-split bigWig tracks."""
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; models: {', '.join(MODELS)}")
    files = [
        layout.path("model_file", model=model),
        layout.path("model_log", model=model),
        layout.path("model_spec", model=model),
    ]
    files += [layout.path("predictions", model=model, split=s) for s in splits]
    files += [
        layout.path("variant_predictions", model=model, split=s, variant=v)
        for s in splits
        for v in variants
    ]
    if tracks:
        known = predictable(MODELS, model)
        files += [
            layout.path("track", model=model, condition=c)
            for c in MODELS[model].conditions
            if c in known
        ]
    return files


def model_init(wildcards):
    """model.pt of the model a spec fine-tunes, or nothing for a scratch model."""
    base = MODELS[wildcards.model].init_from
    return [layout.path("model_file", model=base)] if base else []


def model_training_params(model):
    """What training depends on (the `predict` selector is left out: it does not retrain)."""
    spec = MODELS[model].to_dict()
    spec.pop("predict")
    tfs, cells = vocabularies(MODELS, model)
    return {"spec": spec, "tf_vocab": tfs, "cell_vocab": cells}


def gpu_resources():
    """resources: a GPU request unless the configured device is the CPU."""
    return {} if TRAINING["device"] == "cpu" else {"gpu": TRAINING["gpus"]}


def evaluation_files(split="test"):
    """Calls (BED), metric tables, summaries and Wilcoxon tests of every user model."""
    files = []
    for model in USER_MODELS:
        files += [
            layout.path("called_sites", model=model, split=split, method=m)
            for m in ("threshold", "crf")
        ]
        files.append(layout.path("metrics", model=model, split=split))
        files += [
            layout.path("metrics_of", model=model, split=split, kind=kind)
            for kind in ("summary", "wilcoxon")
        ]
    return files


def new_condition_files(split="test"):
    """Each new condition from its model (the base model fine-tuned for it, Fig 6a): the
    model, its predictions and track, calls and metrics."""
    if not new_section(PROJECT):
        return []
    files = []
    for condition in new_targets(PROJECT):
        model = tuned_name(condition, "new")
        files += model_files(model, tracks=True)
        files += [
            layout.path("called_sites", model=model, split=split, method=m)
            for m in ("threshold", "crf")
        ]
        files.append(layout.path("metrics", model=model, split=split))
    return files


def reference_inputs(wildcards, conditions=None):
    """The data a split's reference scores read: the conditions' labels (by default the
    supervised ones), their cell types' tracks and their TFs' motif tracks; on simulated data
    their true sites."""
    if conditions is None:
        conditions = supervised_conditions(PROJECT)
    pairs = [split_condition(c) for c in conditions]
    cells = {cell for _, cell in pairs}
    files = input_files(layout.path("data_set", split=wildcards.split), conditions)
    files += [
        layout.path("data_signal", split=wildcards.split, cell=cell, assay=assay)
        for cell, assay in CELL_ASSAYS
        if cell in cells
    ]
    files += [
        layout.path("data_motifs", split=wildcards.split, tf=tf)
        for tf in dict.fromkeys(tf for tf, _ in pairs)
        if tf in PROJECT.config["motifs"]
    ]
    out = {"data": files}
    if SOURCE == "simulated":
        out["sites"] = [layout.path("simulated_sites", condition=c) for c in conditions]
    return out


def new_reference_inputs(wildcards):
    """:func:`reference_inputs` of the new conditions."""
    return reference_inputs(wildcards, NEW_CONDITIONS)


# ---- figures ---------------------------------------------------------------------------------
def figure_input(name):
    """A figure's files and its models' checkpoints: a deleted model is retrained and the
    figure redrawn (a metric file alone would hide it)."""
    figure, plan = FIGURES[name]
    return flat_paths(plan.files) + [
        layout.path("model_file", model=m) for m in plan.models
    ]


def flat_paths(files):
    """Every path of a nested mapping of paths."""
    if isinstance(files, str):
        return [files]
    return [path for value in files.values() for path in flat_paths(value)]


def figure_files():
    """Every planned figure, its numbers and the findings table."""
    files = []
    for name in FIGURES:
        files += [
            layout.path("figure_pdf", name=name),
            layout.path("figure_tsv", name=name),
        ] + figure_input(name)
    return list(dict.fromkeys(files)) + ([layout.path("findings")] if FIGURES else [])


# ---- what `snakemake` with no target builds ----------------------------------------------------
def all_targets():
    """Every output of the default run: data, models, calls, metrics and figures."""
    targets = acquired_data()
    if SOURCE == "simulated":
        targets += simulated_files()
    targets += data_set_files()
    if DEFAULT_MODEL in MODELS:
        targets += model_files(DEFAULT_MODEL, tracks=True)
    targets += evaluation_files("test")
    targets += new_condition_files("test")
    targets += figure_files()
    return targets


def stop_scheduler_timers():
    """Cancel the timers Snakemake's scheduler left waiting, so the process exits at once."""
    import threading

    for thread in threading.enumerate():
        if isinstance(thread, threading.Timer):
            thread.cancel()
