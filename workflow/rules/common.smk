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
        print(f"Invalid configuration ({len(error.problems)} problem(s)):", file=sys.stderr)
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
    for cell, assay in zip(PROJECT.cell_features["cell_type"], PROJECT.cell_features["assay"])
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
    return acquired_data() + data_sets()


# ---- data sets (issue 4) ---------------------------------------------------------------------
# results/examples/{split}.bed            example windows of a split
# results/labels/{split}/{condition}.h5   packed base labels (conserved, relaxed) of a condition
# results/features/signals/{cell}.{assay}.h5  bigWig values inside the assay's peaks (no
#                                         dependence on the example set: adding a condition
#                                         does not recompute it)
# results/features/stats/{split}.json     z-score statistics of every track over a split
# results/data/{split}.h5                 the data set (nettime.dataset)


def examples_bed(split):
    return f"results/examples/{split}.bed"


def split_labels(split):
    return [f"results/labels/{split}/{condition}.h5" for condition in CONDITIONS]


def inpeak_signal(cell, assay):
    return f"results/features/signals/{cell}.{assay}.h5"


def inpeak_signals():
    return [inpeak_signal(*cell_assay.split(".")) for cell_assay in CELL_ASSAYS]


def motif_tfs():
    """TFs that get motif channels: all, when a feature set uses motifs."""
    if not any(spec.get("motifs") for spec in config["feature_sets"].values()):
        return []
    return [tf for tf in PROJECT.tfs if tf in config.get("motifs", {})]


def normalisation_stats(wildcards):
    """Statistics a split is z-scored with: the training split's, or its own (per_split)."""
    split = "train" if config["normalisation"] == "train" else wildcards.split
    return f"results/features/stats/{split}.json"


def data_sets():
    return [f"results/data/{split}.h5" for split in SPLITS]
