# Shared by all rule files; the validated configuration and file-name helpers.
# Library code lives in src/nettime; rules stay thin.
import sys

from nettime.config import ConfigError, load_project


def _load_project():
    # Bad input stops here, before any job, with one line per problem and no traceback.
    config_path = (workflow.overwrite_configfiles or ["config/config.yaml"])[-1]
    try:
        return load_project(config_path, config=config)
    except ConfigError as error:
        print(
            f"Invalid configuration ({len(error.problems)} problem(s)):",
            file=sys.stderr,
        )
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        sys.stderr.flush()
        sys.exit(1)


PROJECT = _load_project()
SOURCE = PROJECT.source
RESOURCES = f"resources/{SOURCE}"
CONDITIONS = PROJECT.condition_names()
CELL_ASSAYS = [
    f"{cell}.{assay}"
    for cell, assay in zip(
        PROJECT.cell_features["cell_type"], PROJECT.cell_features["assay"]
    )
]
SPLITS = ["train", "valid", "test"]
LABEL_SETS = ["conserved", "relaxed"]


# ---- the acquired data, identical in layout for every source ---------------------------------
# resources/{source}/genome/genome.fa (+ .fai), chrom.sizes, blacklist.bed
# resources/{source}/peaks/{TF}.{cell}.{conserved|relaxed}.narrowPeak.gz
# resources/{source}/features/{cell}.{assay}.narrowPeak.gz and .bigWig


def genome_fasta():
    return f"{RESOURCES}/genome/genome.fa"


def chrom_sizes():
    return f"{RESOURCES}/genome/chrom.sizes"


def blacklist_bed():
    return f"{RESOURCES}/genome/blacklist.bed"


def condition_peaks(condition, label_set):
    return f"{RESOURCES}/peaks/{condition}.{label_set}.narrowPeak.gz"


def feature_peaks(cell, assay):
    return f"{RESOURCES}/features/{cell}.{assay}.narrowPeak.gz"


def feature_signal(cell, assay):
    return f"{RESOURCES}/features/{cell}.{assay}.bigWig"


def acquired_data():
    """Every acquired file of the configured panel."""
    files = [genome_fasta(), genome_fasta() + ".fai", chrom_sizes(), blacklist_bed()]
    for condition in CONDITIONS:
        files += [condition_peaks(condition, s) for s in LABEL_SETS]
    for cell_assay in CELL_ASSAYS:
        cell, assay = cell_assay.split(".")
        files += [feature_peaks(cell, assay), feature_signal(cell, assay)]
    return files


# ---- classification and evaluation (issue 6) -------------------------------------------------
def model_names():
    """Names of the models of config `models:` (not those the experiments generate: their
    figures ask for what they need)."""
    return [m for m in MODELS if m not in EXPERIMENT_MODELS]


def evaluation_targets(split="test"):
    """Calls (BED), metric tables, summaries and Wilcoxon tests of every model on a split."""
    files = []
    for model in model_names():
        files += [
            f"results/calls/{model}/{split}.threshold.bed",
            f"results/calls/{model}/{split}.crf.bed",
            f"results/metrics/{model}/{split}.tsv",
            f"results/metrics/{model}/{split}.summary.tsv",
            f"results/metrics/{model}/{split}.wilcoxon.tsv",
        ]
    return files


# ---- end of issue 6 block ----------------------------------------------------------------------


# ---- simulated data set (issue 2): paths and helpers of rules/simulate.smk ----------------
from pathlib import Path

from nettime.simulate import load_motif_table, portal_json_paths

SIM = "resources/simulated"
SIM_WORLD = {
    "fasta": f"{SIM}/genome/genome.fa",
    "fai": f"{SIM}/genome/genome.fa.fai",
    "sizes": f"{SIM}/genome/chrom.sizes",
    "blacklist": f"{SIM}/genome/blacklist.bed",
    "world": f"{SIM}/truth/world.json",
    "gaps": f"{SIM}/truth/gaps.bed",
    "elements": f"{SIM}/truth/elements.tsv",
    "sites": f"{SIM}/truth/sites.bed",
    "decoys": f"{SIM}/truth/decoys.bed",
    "binding": f"{SIM}/truth/binding.tsv.gz",
    "meme": f"{SIM}/motifs/planted.meme",
}
SIM_TFS = sorted(PROJECT.tfs)
SIM_MOTIFS = {tf: str(PROJECT.config["motifs"].get(tf, "")) for tf in SIM_TFS}

if SOURCE == "simulated":
    # An unknown JASPAR ID or unreadable MEME file stops here, before any job.
    try:
        load_motif_table(PROJECT.config["motifs"], SIM_TFS, PROJECT.config_path)
    except ConfigError as error:
        for problem in error.problems:
            print(f"Invalid configuration: {problem}", file=sys.stderr)
        sys.exit(1)


def simulation_root(wildcards, output):
    # The output folder, from an output path (resources/simulated/<stage>/<file>).
    return str(Path(output[0]).parents[1])


def simulated_targets():
    """Simulated-only outputs: ground truth per condition and the portal metadata."""
    files = list(SIM_WORLD.values())
    files += [f"{SIM}/truth/{condition}.sites.bed" for condition in CONDITIONS]
    files += [f"{SIM}/portal/files.tsv"]
    files += [f"{SIM}/{path}" for path in portal_json_paths(PROJECT)]
    return files


# ---- encode (issue 3) ----------------------------------------------------------------------
def encode_pins(kind, key):
    """The accessions a sheet row pins, as a param (a change reruns the download)."""
    if kind == "condition":
        frame, names = PROJECT.conditions, PROJECT.conditions["condition"]
        columns = ["experiment", "conserved_file", "relaxed_file"]
    else:
        frame = PROJECT.cell_features
        names = [f"{c}.{a}" for c, a in zip(frame["cell_type"], frame["assay"])]
        columns = ["experiment", "peaks_file", "signal_file"]
    row = frame[[name == key for name in names]]
    if row.empty:
        return ""
    return ",".join(str(row.iloc[0][c]) for c in columns)


# ---- data sets (issue 4) ---------------------------------------------------------------------
# results/examples/{split}.bed            example windows of a split
# results/labels/{split}/{condition}.h5   packed base labels (conserved, relaxed) of a condition
# results/features/signals/{cell}.{assay}.h5  bigWig values inside the assay's peaks (no
#                                         dependence on the example set: adding a condition
#                                         does not recompute it)
# results/features/stats/{split}.json     z-score statistics of every track over a split
# results/data/{split}.h5                 the data set (nettime.dataset)


def split_labels(split):
    return [f"results/labels/{split}/{condition}.h5" for condition in CONDITIONS]


def inpeak_signal(cell, assay):
    return f"results/features/signals/{cell}.{assay}.h5"


def inpeak_signals():
    return [inpeak_signal(*cell_assay.split(".")) for cell_assay in CELL_ASSAYS]


def motif_tfs():
    """TFs that get motif channels: all, when a feature set uses motifs."""
    if not any(spec.get("motifs") for spec in PROJECT.config["feature_sets"].values()):
        return []
    return [tf for tf in PROJECT.tfs if tf in PROJECT.config["motifs"]]


def normalisation_stats(wildcards):
    """Statistics a split is z-scored with: the training split's, or its own (per_split)."""
    split = "train" if PROJECT.config["normalisation"] == "train" else wildcards.split
    return f"results/features/stats/{split}.json"


def data_sets():
    return [f"results/data/{split}.h5" for split in SPLITS]


# ---- models, training, prediction (issue 5) --------------------------------------------------
# results/models/{model}/model.pt, log.tsv, spec.yaml        trained model (best checkpoint)
# results/predictions/{model}/{split}.h5                     prob/{condition} float16 (n, L)
# results/predictions/{model}/{split}.{variant}.h5           random embeddings at prediction
# results/tracks/{model}/{condition}.bigWig                  test-split probability track
from nettime.registry import model_specs, predictable, training_settings, vocabularies


def _model_specs():
    try:
        return model_specs(PROJECT)
    except ConfigError as error:
        print(
            f"Invalid model registry ({len(error.problems)} problem(s)):",
            file=sys.stderr,
        )
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        sys.exit(1)


# ---- experiments (issue 7): the paper's experiments add their models to the registry ----------
from nettime import experiments as _experiments


def _add_experiment_models():
    try:
        generated = _experiments.generate_models(PROJECT)
        PROJECT.config["models"] = {**(PROJECT.config.get("models") or {}), **generated}
        return list(generated)
    except ConfigError as error:
        for problem in error.problems:
            print(f"Invalid experiments: {problem}", file=sys.stderr)
        sys.exit(1)


EXPERIMENT_MODELS = _add_experiment_models()
# ---- end of issue 7 block ------------------------------------------------------------------


MODELS = _model_specs()
TRAINING = training_settings(config)
PREDICTION_VARIANTS = ["random_tf", "random_cell", "random_both"]


def data_set(split):
    return f"results/data/{split}.h5"


def model_file(model):
    return f"results/models/{model}/model.pt"


def model_predictions(model, split, variant=None):
    suffix = f".{variant}" if variant else ""
    return f"results/predictions/{model}/{split}{suffix}.h5"


def model_track(model, condition):
    return f"results/tracks/{model}/{condition}.bigWig"


def model_targets(model, splits=("valid", "test"), variants=(), tracks=False):
    """Files of one model that a figure needs: the trained model, its predictions on
    ``splits`` (and prediction-time variants), optionally its test-split bigWig tracks.
    """
    if model not in MODELS:
        raise ValueError(
            f"unknown model {model!r}; models in config: {', '.join(MODELS)}"
        )
    files = [
        model_file(model),
        f"results/models/{model}/log.tsv",
        f"results/models/{model}/spec.yaml",
    ]
    files += [model_predictions(model, split) for split in splits]
    files += [model_predictions(model, split, v) for split in splits for v in variants]
    if tracks:
        known = predictable(MODELS, model)
        files += [model_track(model, c) for c in MODELS[model].conditions if c in known]
    return files


def model_init(wildcards):
    """model.pt of the model a spec fine-tunes, or nothing for a scratch model."""
    base = MODELS[wildcards.model].init_from
    return [model_file(base)] if base else []


def model_training_params(model):
    """What training depends on (the `predict` selector is left out: it does not retrain)."""
    spec = MODELS[model].to_dict()
    spec.pop("predict")
    tfs, cells = vocabularies(MODELS, model)
    return {"spec": spec, "tf_vocab": tfs, "cell_vocab": cells}


def gpu_resources():
    """resources: a GPU request unless the configured device is the CPU."""
    return {} if TRAINING["device"] == "cpu" else {"gpu": TRAINING["gpus"]}


DEFAULT_MODEL = "multitask"


def model_default_targets():
    """The default pipeline's model files: the default multitask model with predictions."""
    return model_targets(DEFAULT_MODEL, tracks=True) if DEFAULT_MODEL in MODELS else []


# ---- figures (issue 7) -------------------------------------------------------------------------
# results/metrics/{model}/{split}.probability.tsv   auPRC/AP only (no calls): what Figs 2-4 read
# results/figures/{figure}.pdf + .tsv               a figure and the numbers it shows
FIGURES = _experiments.figure_models(PROJECT)
FAMILIES = _experiments.families(PROJECT)
FIGURE_SPLIT = "test"


def probability_metrics(model):
    return f"results/metrics/{model}/{FIGURE_SPLIT}.probability.tsv"


def figure_files(figure):
    """Files (by role) that one figure reads; a figure not configured asks for nothing."""
    spec = FIGURES.get(figure)
    if spec is None:
        return {}
    if figure.startswith("fig2_"):
        return {
            "arms": {arm: probability_metrics(m) for arm, m in spec["arms"].items()},
            "stl": {c: probability_metrics(m) for c, m in spec["stl"].items()},
        }
    if figure == "fig3a_features":
        return {
            "settings": {f: probability_metrics(m) for f, m in spec["settings"].items()}
        }
    if figure == "fig4a_embeddings_prediction":
        model = spec["model"]
        return {
            "trained": probability_metrics(model),
            "variants": {
                v: f"results/metrics/{model}/{FIGURE_SPLIT}.{v}.tsv"
                for v in PREDICTION_VARIANTS
            },
        }
    if figure == "fig4b_embeddings_training":
        return {
            "variants": {v: probability_metrics(m) for v, m in spec["variants"].items()}
        }
    if figure == "fig4c_tf_embeddings":
        return {"model": model_file(spec["model"])}
    if figure == "fig7_crf":
        model = spec["model"]
        return {
            "metrics": f"results/metrics/{model}/{FIGURE_SPLIT}.tsv",
            "thresholds": f"results/classify/{model}/thresholds.tsv",
        }
    raise ValueError(f"unknown figure {figure!r}")


def flat_files(files):
    """Every path of a (nested) figure_files mapping, for `input:`."""
    if isinstance(files, str):
        return [files]
    out = []
    for value in files.values():
        out += flat_files(value)
    return out


def figure_model_names(figure):
    """The models a figure compares."""
    spec = FIGURES.get(figure) or {}
    names = [spec["model"]] if "model" in spec else []
    for key in ("arms", "stl", "settings", "variants"):
        names += list(spec.get(key, {}).values())
    return list(dict.fromkeys(names))


def figure_input(figure):
    """The figure's files and its models' model.pt: a deleted model is retrained and the
    figure redrawn (a metric file alone would hide it)."""
    files = flat_files(figure_files(figure))
    return files + [model_file(m) for m in figure_model_names(figure)]


def figure_targets():
    """Every configured figure, its numbers and the findings table."""
    files = []
    for figure in FIGURES:
        files += [f"results/figures/{figure}.pdf", f"results/figures/{figure}.tsv"]
        # Asked for, so that a deleted model is retrained (and its figures redrawn).
        files += [model_file(m) for m in figure_model_names(figure)]
    return list(dict.fromkeys(files)) + (["results/findings.tsv"] if FIGURES else [])


def findings_input(wildcards):
    """The figures' numbers that findings.tsv judges (and the model of Fig 4c)."""
    files = {f: f"results/figures/{f}.tsv" for f in FIGURES}
    if "fig4c_tf_embeddings" in FIGURES:
        files["embedding_model"] = model_file(FIGURES["fig4c_tf_embeddings"]["model"])
    return files


# ---- end of issue 7 figures block ----------------------------------------------------------


# ---- what `snakemake` with no target builds ----------------------------------------------------
def all_targets():
    """Every output of the default run: data, models, calls, metrics and figures."""
    targets = acquired_data()
    if SOURCE == "simulated":
        targets += simulated_targets()
    targets += data_sets()
    targets += model_default_targets()
    targets += evaluation_targets("test")
    targets += figure_targets()
    return targets
