"""Every path the pipeline reads or writes under ``resources/`` and ``results/``, and the
vocabularies that name them (splits, label sets, assays, prediction variants).

The Snakefile, the workflow scripts and the command line all build paths here, so a file has
one name everywhere. Each function returns a relative path; give it Snakemake wildcards
(``"{model}"``) to get a pattern. Nothing here touches the disk.
"""

from __future__ import annotations

#: The paper's chromosome split names.
SPLITS = ("train", "valid", "test")
#: Label sets of a condition: conserved peaks (scored) and relaxed peaks (training only).
LABEL_SETS = ("conserved", "relaxed")
#: Prediction-time replacements of trained embeddings by random vectors (Fig 4a):
#: name -> (TF embedding random, cell-type embedding random).
PREDICTION_VARIANTS: dict[str, tuple[bool, bool]] = {
    "random_tf": (True, False),
    "random_cell": (False, True),
    "random_both": (True, True),
}
#: Cell-type assays a sheet may name.
ASSAYS = ("DNase", "ATAC", "H3K4me1", "H3K4me3", "H3K27ac")
#: The split whose metrics the figures show.
FIGURE_SPLIT = "test"

RESULTS = "results"
RESOURCES = "resources"


# ---- acquired data: resources/{source}/, the same layout for every source -----------------

def resources(source: str) -> str:
    return f"{RESOURCES}/{source}"


def genome_fasta(source: str) -> str:
    return f"{RESOURCES}/{source}/genome/genome.fa"


def chrom_sizes(source: str) -> str:
    return f"{RESOURCES}/{source}/genome/chrom.sizes"


def blacklist(source: str) -> str:
    return f"{RESOURCES}/{source}/genome/blacklist.bed"


def condition_peaks(source: str, condition: str, label_set: str) -> str:
    """Conserved or relaxed ChIP-seq peaks of a condition ``TF.cell``."""
    return f"{RESOURCES}/{source}/peaks/{condition}.{label_set}.narrowPeak.gz"


def feature_peaks(source: str, cell: str, assay: str) -> str:
    return f"{RESOURCES}/{source}/features/{cell}.{assay}.narrowPeak.gz"


def feature_signal(source: str, cell: str, assay: str) -> str:
    return f"{RESOURCES}/{source}/features/{cell}.{assay}.bigWig"


# ---- the simulated source: its ground truth and portal metadata ------------------------------

SIMULATED = f"{RESOURCES}/simulated"


def simulated_world() -> dict[str, str]:
    """Files of the simulation's world stage, by role."""
    return {
        "fasta": genome_fasta("simulated"),
        "fai": genome_fasta("simulated") + ".fai",
        "sizes": chrom_sizes("simulated"),
        "blacklist": blacklist("simulated"),
        "world": f"{SIMULATED}/truth/world.json",
        "gaps": f"{SIMULATED}/truth/gaps.bed",
        "elements": f"{SIMULATED}/truth/elements.tsv",
        "sites": f"{SIMULATED}/truth/sites.bed",
        "decoys": f"{SIMULATED}/truth/decoys.bed",
        "binding": f"{SIMULATED}/truth/binding.tsv.gz",
        "meme": f"{SIMULATED}/motifs/planted.meme",
    }


def simulated_sites(condition: str) -> str:
    """Ground-truth binding sites of a simulated condition."""
    return f"{SIMULATED}/truth/{condition}.sites.bed"


def simulated_portal_table() -> str:
    return f"{SIMULATED}/portal/files.tsv"


# ---- the ENCODE source -----------------------------------------------------------------------

ENCODE = f"{RESOURCES}/encode"


def encode_resolved() -> str:
    """The part of the lock table this configuration uses (the resolution checkpoint)."""
    return f"{ENCODE}/resolved.tsv"


# ---- data sets ---------------------------------------------------------------------------------

def examples(split: str) -> str:
    """Example windows of a split (BED)."""
    return f"{RESULTS}/examples/{split}.bed"


def labels(split: str, condition: str) -> str:
    """Packed base labels (conserved, relaxed) of a condition on a split's examples."""
    return f"{RESULTS}/labels/{split}/{condition}.h5"


def inpeak_signal(cell: str, assay: str) -> str:
    """A (cell type, assay) bigWig's values inside its peaks (independent of the examples)."""
    return f"{RESULTS}/features/signals/{cell}.{assay}.h5"


def feature_stats(split: str) -> str:
    """Z-score statistics of every track over a split."""
    return f"{RESULTS}/features/stats/{split}.json"


def data_set(split: str) -> str:
    return f"{RESULTS}/data/{split}.h5"


# ---- models and their predictions ----------------------------------------------------------------

def model_dir(model: str) -> str:
    return f"{RESULTS}/models/{model}"


def model_file(model: str) -> str:
    """The best checkpoint of a trained model."""
    return f"{RESULTS}/models/{model}/model.pt"


def model_log(model: str) -> str:
    return f"{RESULTS}/models/{model}/log.tsv"


def model_spec(model: str) -> str:
    """The spec a model was trained with, its vocabularies and training summary (YAML)."""
    return f"{RESULTS}/models/{model}/spec.yaml"


def model_embeddings(model: str) -> str:
    """The trained embedding vectors of a model (TSV)."""
    return f"{RESULTS}/models/{model}/embeddings.tsv"


def predictions(model: str, split: str, variant: str | None = None) -> str:
    """A model's predictions file on a split (:mod:`nettime.data.predictions`)."""
    suffix = f".{variant}" if variant else ""
    return f"{RESULTS}/predictions/{model}/{split}{suffix}.h5"


def track(model: str, condition: str) -> str:
    """A genome-browser track of a condition's test-split probabilities."""
    return f"{RESULTS}/tracks/{model}/{condition}.bigWig"


# ---- binary calls ----------------------------------------------------------------------------

def thresholds(model: str) -> str:
    return f"{RESULTS}/classify/{model}/thresholds.tsv"


def crf(model: str) -> str:
    return f"{RESULTS}/classify/{model}/crf.pt"


def crf_log(model: str) -> str:
    return f"{RESULTS}/classify/{model}/crf_log.tsv"


def calls(model: str, split: str) -> str:
    """Per-base calls of both methods (HDF5)."""
    return f"{RESULTS}/calls/{model}/{split}.h5"


def called_sites(model: str, split: str, method: str) -> str:
    """Called sites of one method (``threshold`` or ``crf``) as BED."""
    return f"{RESULTS}/calls/{model}/{split}.{method}.bed"


# ---- metrics -----------------------------------------------------------------------------------

def metrics(model: str, split: str, kind: str | None = None) -> str:
    """A model's metric table on a split.

    ``kind`` None: every metric with calls; ``probability``: auPRC and AP only (what the
    figures that compare models read); a prediction variant's name: that variant's auPRC and
    AP; ``summary`` / ``wilcoxon``: statistics across conditions.
    """
    suffix = f".{kind}" if kind else ""
    return f"{RESULTS}/metrics/{model}/{split}{suffix}.tsv"


# ---- figures and findings ------------------------------------------------------------------------

def figure_pdf(name: str) -> str:
    return f"{RESULTS}/figures/{name}.pdf"


def figure_tsv(name: str) -> str:
    """The numbers a figure shows."""
    return f"{RESULTS}/figures/{name}.tsv"


def findings() -> str:
    """The paper's claims judged on this run."""
    return f"{RESULTS}/findings.tsv"


# ---- logs and rule benchmarks ------------------------------------------------------------------

def log(name: str) -> str:
    return f"logs/{name}.log"


def benchmark(name: str) -> str:
    return f"{RESULTS}/benchmarks/{name}.tsv"
