"""Every path the pipeline reads or writes under ``resources/`` and ``results/``, and the
vocabularies that name them (splits, label sets, assays, prediction variants).

The Snakefile, the workflow scripts and the command line all build paths here, so a file has
one name everywhere: :data:`FILES` is the table of every file, :func:`path` fills a template
(give it Snakemake wildcards, ``model="{model}"``, to get a pattern). Paths are relative to the
working directory. Nothing here touches the disk.
"""

from __future__ import annotations

#: The paper's chromosome split names.
SPLITS = ("train", "valid", "test")
#: Label sets of a condition: conserved peaks (scored) and relaxed peaks (training only).
LABEL_SETS = ("conserved", "relaxed")
#: Prediction-time replacements of trained embeddings by random vectors (Fig 4a):
#: name -> (TF embedding random, cell-type embedding random).
RANDOM_EMBEDDING_VARIANTS: dict[str, tuple[bool, bool]] = {
    "random_tf": (True, False),
    "random_cell": (False, True),
    "random_both": (True, True),
}
#: Average Train (Fig 5): a condition [p, q] predicted with the cell-type embedding of each
#: cell type r where [p, r] was trained, on q's features, the probabilities averaged.
AVERAGE_TRAIN = "average_train"
#: Every way of predicting with a trained model other than its own embeddings.
PREDICTION_VARIANTS: tuple[str, ...] = (*RANDOM_EMBEDDING_VARIANTS, AVERAGE_TRAIN)
#: Cell-type assays a sheet may name.
ASSAYS = ("DNase", "ATAC", "H3K4me1", "H3K4me3", "H3K27ac")
#: The split whose metrics the figures show.
FIGURE_SPLIT = "test"

RESULTS = "results"
RESOURCES = "resources"


#: Every file of the pipeline, by name: (path template, what it holds). The fields in braces
#: are filled by :func:`path`.
FILES: dict[str, tuple[str, str]] = {
    # acquired data: the same layout for every source (simulated, encode)
    "genome": ("resources/{source}/genome/genome.fa", "the genome FASTA (its .fai beside it)"),
    "chrom_sizes": ("resources/{source}/genome/chrom.sizes", "chromosome sizes"),
    "blacklist": ("resources/{source}/genome/blacklist.bed", "regions excluded from examples"),
    "condition_peaks": ("resources/{source}/peaks/{condition}.{label_set}.narrowPeak.gz",
                        "conserved or relaxed ChIP-seq peaks of a condition TF.cell"),
    "feature_peaks": ("resources/{source}/features/{cell}.{assay}.narrowPeak.gz",
                      "peak calls of a cell type's assay"),
    "feature_signal": ("resources/{source}/features/{cell}.{assay}.bigWig",
                       "signal track of a cell type's assay"),
    "simulated_sites": ("resources/simulated/truth/{condition}.sites.bed",
                        "ground-truth binding sites of a simulated condition"),
    "simulated_portal_table": ("resources/simulated/portal/files.tsv",
                               "the simulated portal's files (accession, md5, size)"),
    "encode_resolved": ("resources/encode/resolved.tsv",
                        "the lock-table entries this configuration uses"),
    # data sets
    "examples": ("results/examples/{split}.bed", "example windows of a split"),
    "labels": ("results/labels/{split}/{condition}.h5",
               "packed base labels (conserved, relaxed) of a condition on a split"),
    "inpeak_signal": ("results/features/signals/{cell}.{assay}.h5",
                      "a bigWig's values inside its peaks, as runs"),
    "data_set": ("results/data/{split}", "the data set of a split: a folder, a file per track"),
    "data_examples": ("results/data/{split}/examples.h5",
                      "a split's example coordinates and sequence"),
    "data_signal": ("results/data/{split}/signals/{cell}.{assay}.h5",
                    "a cell type's assay over a split's examples, z-scored"),
    "data_labels": ("results/data/{split}/labels/{condition}.h5",
                    "a condition's packed base labels (conserved, relaxed) on a split"),
    "data_motifs": ("results/data/{split}/motifs/{tf}.h5",
                    "a TF's motif channels over a split's examples, z-scored"),
    # models and predictions
    "model_file": ("results/models/{model}/model.pt", "a trained model's best checkpoint"),
    "model_log": ("results/models/{model}/log.tsv", "its training log"),
    "model_spec": ("results/models/{model}/spec.yaml",
                   "the spec it was trained with, vocabularies, training summary"),
    "model_embeddings": ("results/models/{model}/embeddings.tsv",
                         "its trained embedding vectors"),
    "predictions": ("results/predictions/{model}/{split}.h5",
                    "a model's predictions file on a split"),
    "variant_predictions": ("results/predictions/{model}/{split}.{variant}.h5",
                            "predictions with embeddings replaced at prediction time"),
    "track": ("results/tracks/{model}/{condition}.bigWig",
              "a condition's test-split probabilities for genome browsers"),
    # binary calls
    "thresholds": ("results/classify/{model}/thresholds.tsv",
                   "validation IOU of each random threshold, the best marked"),
    "crf": ("results/classify/{model}/crf.pt", "the fitted CRF"),
    "crf_log": ("results/classify/{model}/crf_log.tsv", "the CRF's training history"),
    "calls": ("results/calls/{model}/{split}.h5", "per-base calls of threshold and CRF"),
    "called_sites": ("results/calls/{model}/{split}.{method}.bed",
                     "called sites of one method (threshold or crf)"),
    # de novo motifs
    "denovo_table": ("results/motifs/{model}/{split}/{condition}.tsv",
                     "de novo motifs under a condition's called sites and its conserved peaks, "
                     "compared with each other (TOMTOM) and with JASPAR"),
    "denovo_meme": ("results/motifs/{model}/{split}/{condition}.{set}.meme",
                    "every motif found in one set (sites or peaks), in STREME's MEME format"),
    "denovo_fasta": ("results/motifs/{model}/{split}/{condition}.{set}.fa",
                     "the sequences of one set (sites or peaks)"),
    "denovo_background": ("results/motifs/{model}/{split}/{condition}.{set}.background.fa",
                          "the matched background sequences of one set"),
    # metrics, figures, findings
    "metrics": ("results/metrics/{model}/{split}.tsv",
                "every metric of a model on a split, with calls"),
    "metrics_of": ("results/metrics/{model}/{split}.{kind}.tsv",
                   "auPRC/AP only (kind probability or a prediction variant), or statistics "
                   "across conditions (kind summary or wilcoxon)"),
    "reference_metrics": ("results/metrics/reference.{split}.tsv",
                          "auPRC of the untrained scores (DNase, assays, motif) and, on "
                          "simulated data, of the true binding, per condition"),
    "new_reference_metrics": ("results/metrics/reference_new.{split}.tsv",
                              "the same for the new conditions (apart, so that adding one "
                              "redraws only the figures that show new conditions)"),
    "figure_pdf": ("results/figures/{name}.pdf", "a figure"),
    "figure_tsv": ("results/figures/{name}.tsv", "the numbers a figure shows"),
    "findings": ("results/findings.tsv", "the paper's claims judged on this run"),
    # ENCODE-DREAM benchmark
    "dream_data": ("results/data/dream", "the genome-wide data set: windows tiling the "
                   "protocol's chromosomes (nettime.data.tiles), a file per track"),
    "dream_examples": ("results/data/dream/examples.h5",
                       "the tiles' coordinates and sequence, and the tiling"),
    "dream_signal": ("results/data/dream/signals/{cell}.{assay}.h5",
                     "a cell type's assay over the tiles, z-scored like the training split"),
    "dream_motifs": ("results/data/dream/motifs/{tf}.h5",
                     "a TF's motif channels over the tiles, z-scored like the training split"),
    "dream_maxima": ("results/predictions/{model}/dream.maxima.h5",
                     "a model's predictions over the tiles, reduced to their maximum per block "
                     "of `step` bp (the per-base predictions are not kept)"),
    "dream_metrics": ("results/metrics/{model}/dream.tsv",
                      "auPRC and auROC per condition on the ENCODE-DREAM protocol"),
}

SIMULATED = f"{RESOURCES}/simulated"
ENCODE = f"{RESOURCES}/encode"


def path(name: str, /, **fields: str) -> str:
    """The path of file ``name`` of :data:`FILES` with its fields filled in.

    Raises
    ------
    KeyError
        Naming the unknown file, or the fields a template needs and did not get.
    """
    if name not in FILES:
        raise KeyError(f"no file {name!r} in the layout; files: {', '.join(FILES)}")
    template = FILES[name][0]
    try:
        return template.format(**fields)
    except KeyError as missing:
        raise KeyError(f"{name} ({template}) needs field {missing}") from None


def model_dir(model: str) -> str:
    """The folder of a model's checkpoints, log and spec."""
    return path("model_file", model=model).rsplit("/", 1)[0]


def simulated_world() -> dict[str, str]:
    """Files of the simulation's world stage, by role."""
    truth = f"{SIMULATED}/truth"
    return {
        "fasta": path("genome", source="simulated"),
        "fai": path("genome", source="simulated") + ".fai",
        "sizes": path("chrom_sizes", source="simulated"),
        "blacklist": path("blacklist", source="simulated"),
        "world": f"{truth}/world.json", "gaps": f"{truth}/gaps.bed",
        "elements": f"{truth}/elements.tsv", "sites": f"{truth}/sites.bed",
        "decoys": f"{truth}/decoys.bed", "binding": f"{truth}/binding.tsv.gz",
        "meme": f"{SIMULATED}/motifs/planted.meme",
    }


#: The sequence sets of de novo motif discovery: called sites and conserved ChIP-seq peaks.
DENOVO_SETS = ("sites", "peaks")


def denovo_files(model: str, split: str, condition: str) -> dict[str, str]:
    """Files of a condition's de novo motifs, by role: ``table``, and per set ``{set}_meme``,
    ``{set}_fasta`` and ``{set}_background``."""
    fields = {"model": model, "split": split, "condition": condition}
    files = {"table": path("denovo_table", **fields)}
    for kind in DENOVO_SETS:
        files[f"{kind}_fasta"] = path("denovo_fasta", set=kind, **fields)
        files[f"{kind}_background"] = path("denovo_background", set=kind, **fields)
        files[f"{kind}_meme"] = path("denovo_meme", set=kind, **fields)
    return files

def log(name: str) -> str:
    """A rule's log file."""
    return f"logs/{name}.log"


def benchmark(name: str) -> str:
    """A rule's benchmark record (wall and CPU time, memory)."""
    return f"{RESULTS}/benchmarks/{name}.tsv"
