# Shared by every rule file: the validated configuration, file-name helpers and wildcards.
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


wildcard_constraints:
    condition=r"[A-Za-z0-9][A-Za-z0-9_-]*\.[A-Za-z0-9][A-Za-z0-9_-]*",
    cell=r"[A-Za-z0-9][A-Za-z0-9_-]*",
    assay=r"DNase|ATAC|H3K4me1|H3K4me3|H3K27ac",
    split="train|valid|test",
    label_set="conserved|relaxed",


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


def all_targets():
    """What `snakemake` with no target builds: grows as stages are added."""
    return acquired_data() + model_default_targets()


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


MODELS = _model_specs()
TRAINING = training_settings(config)
PREDICTION_VARIANTS = ["random_tf", "random_cell", "random_both"]


wildcard_constraints:
    model=r"[A-Za-z0-9][A-Za-z0-9_-]*",
    variant="|".join(PREDICTION_VARIANTS),


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
